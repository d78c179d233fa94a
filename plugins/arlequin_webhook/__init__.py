"""Built-in plugin ``webhook``: POST events as JSON signed with HMAC-SHA256.

Enable it in config::

    [sinks.webhook]
    enabled = true
    url = "https://hooks.example.com/arlequin"
    secret = "${ARLEQUIN_WEBHOOK_SECRET}"
    events = ["drift-detected", "model-registered"]

Receivers verify ``X-Arlequin-Signature`` with
:func:`arlequin_webhook.signature.verify`. See ``docs/sinks.md``.
"""
