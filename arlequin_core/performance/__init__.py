"""The champion's performance on unlabelled batches: calibration and CBPE.

* :mod:`.calibration`: isotonic or Platt, whichever calibrates the held-out rows better;
* :mod:`.cbpe`: the expected confusion matrix and ROC AUC of a batch from its scores,
  with the band of expected sampling variation;
* :mod:`.harm`: the champion scores a batch and the estimate becomes part of the verdict.
"""
