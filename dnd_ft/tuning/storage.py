"""Storage URLs: Optuna's RDB URLs as they are, plus journal files for local workers.

    outputs/sweeps/smoke/optuna.journal       a journal file (Optuna's JournalFileBackend)
    journal:///abs/path/optuna.journal        the same, spelt as a URL
    sqlite:///outputs/study.db                one process at a time (Optuna discourages SQLite
                                              for parallel workers)
    postgresql://user:pass@host/db            many machines (needs psycopg: the sweep extra)

A journal file is the default because several processes on one machine (two `-m` commands, a
joblib launcher's workers) can append to it safely under its lock, and it needs no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

JOURNAL_SCHEME = "journal://"


def is_journal(url: str) -> bool:
    return url.startswith(JOURNAL_SCHEME) or "://" not in url


def journal_path(url: str) -> Path:
    return Path(url[len(JOURNAL_SCHEME) :] if url.startswith(JOURNAL_SCHEME) else url)


def open_storage(url: str) -> Any:
    """The Optuna storage object for ``url``."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if is_journal(url):
        path = journal_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    # pool_pre_ping: a worker that sat through a long trial finds its connection dead otherwise
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})


def describe(url: str) -> str:
    """``url`` without its password, for logs and records."""
    if is_journal(url) or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
