"""Hand-written helpers (never regenerated): lock holding and saga task workers.

A module `custom/<resource>.py` that defines `<Resource>Resource` and `Async<Resource>Resource`
(subclasses of the generated classes in `concord.resources.<resource>`) replaces them in the
clients: the generator sees the file and imports the subclasses instead. The names in
`__all__` below are re-exported by the `concord` package.
"""

from concord.custom.locks import AsyncHeldLock, HeldLock, LockLostError, default_owner
from concord.custom.sagas import AsyncSagaWorker, NonRetryableTaskError, SagaWorker

__all__ = [
    "AsyncHeldLock",
    "AsyncSagaWorker",
    "HeldLock",
    "LockLostError",
    "NonRetryableTaskError",
    "SagaWorker",
    "default_owner",
]
