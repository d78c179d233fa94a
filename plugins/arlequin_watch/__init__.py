"""Built-in plugin ``watch``: the ``local`` and ``poll`` sources and the daemon's commands.

``arlequin watch [DIR_OR_URI ...]`` runs :class:`arlequin_core.daemon.Daemon`;
``arlequin status`` shows the ledger, the champion and the last events;
``arlequin retry BATCH`` processes a batch again. See ``docs/watching.md``.
"""
