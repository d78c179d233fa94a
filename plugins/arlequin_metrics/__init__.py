"""Built-in plugin ``metrics``: the watcher's numbers for Prometheus, on ``/metrics``.

Off unless a port is configured (the embedded mode serves nothing)::

    [metrics]
    port = 9108          # 0: any free port (logged); unset: off
    host = "0.0.0.0"     # default 127.0.0.1: this machine only

``arlequin watch`` then serves the Prometheus text format through the official
``prometheus_client`` library: batches seen, checked and rejected (by error class),
verdicts, each column's drift statistic and p-value (by column and detector), the
drift share, the data-arrived-to-verdict latency, retrains and promotions, the
champion's version, and sink deliveries, failures and dead letters. Every metric is
listed in ``docs/deploy.md``; ``docker/grafana`` has a dashboard for them.
"""
