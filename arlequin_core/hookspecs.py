"""Every hook Arlequin calls, in one place.

Two families:

* **registration hooks** are called once at start-up with a ``register`` callable;
  the core owns what is registered (see :mod:`arlequin_core.registry`), checks its
  type and metadata, and refuses duplicate names.
* **event hooks** receive one event each, ``arlequin_on_<event name>``, and
  ``arlequin_on_event`` receives every event, whatever its name, for consumers that
  want all of them (logging, forwarding, metrics). They are called by the bus from a
  worker thread, one lane per plugin, so a slow plugin does not hold back the others.
  A hook that raises is logged and journalled as a ``plugin-failed`` event; the other
  plugins still receive the event. Event hooks return nothing; none is ``firstresult``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arlequin_core import hookspec

if TYPE_CHECKING:
    from arlequin_core.events import (
        BatchChecked,
        BatchRejected,
        BuildFinished,
        DataArrived,
        DataQualityFailed,
        DriftDetected,
        Event,
        ModelRegistered,
        PluginFailed,
        SinkDelivered,
        SinkFailed,
    )

Register = Callable[[Any], None]

# --------------------------------------------------------------------------- #
# Registration hooks
# --------------------------------------------------------------------------- #


@hookspec
def arlequin_register_detectors(register: Register) -> None:
    """Register drift detectors.

    :param register: call ``register(DetectorClass)`` once per detector. The class
        must subclass :class:`arlequin_core.drift.base.Detector` and carry an
        ``info`` (:class:`arlequin_core.drift.base.DetectorInfo`) whose ``name`` is
        unique among all detectors.
    """


@hookspec
def arlequin_register_trainers(register: Register) -> None:
    """Register model trainers.

    :param register: call ``register(TrainerClass)``; the class must subclass
        :class:`arlequin_core.training.base.Trainer` and set a unique ``name``.
    """


@hookspec
def arlequin_register_sinks(register: Register) -> None:
    """Register sinks: components that act on events (retrain, Jenkins, webhook).

    :param register: call ``register(SinkClass)``; the class must subclass
        :class:`arlequin_core.sinks.base.Sink` and set a unique ``name``. A sink
        enabled in config is instantiated with its config section and registered
        on the bus, so its ``arlequin_on_*`` methods receive events.
    """


@hookspec
def arlequin_register_sources(register: Register) -> None:
    """Register sources: components that notice new batches and emit ``data-arrived``.

    :param register: call ``register(SourceClass)``; the class must subclass
        :class:`arlequin_core.sources.base.Source` and set a unique ``name``.
    """


@hookspec
def arlequin_register_commands(register: Register) -> None:
    """Register sub-commands of the ``arlequin`` CLI.

    :param register: call ``register(command)`` with a :class:`click.Command`
        (or group) whose ``name`` is unique among sub-commands.
    """


# --------------------------------------------------------------------------- #
# Event hooks: one for every event, then one per event in arlequin_core.events
# --------------------------------------------------------------------------- #


@hookspec
def arlequin_on_event(event: Event) -> None:
    """Any event at all: every event the bus delivers, whatever its ``name``.

    For consumers that want all events (a log, a forwarder, metrics): one hook instead
    of one per event, and an event added later reaches it with no change. Delivered on
    the plugin's own lane, in publication order, like the typed hooks; a plugin that
    implements both this hook and ``arlequin_on_<name>`` gets the event on each, the
    typed hook first. Dispatch on ``event.name`` (stable) or ``isinstance``.

    :param event: the event (a subclass of :class:`arlequin_core.events.Event`).
    """


@hookspec
def arlequin_on_data_arrived(event: DataArrived) -> None:
    """A complete batch landed (``data-arrived``).

    :param event: the batch id and URI, and the source that saw it.
    """


@hookspec
def arlequin_on_batch_checked(event: BatchChecked) -> None:
    """A batch was tested for drift (``batch-checked``), whatever the verdict.

    :param event: the verdict, drift share, drifted columns and report URI.
    """


@hookspec
def arlequin_on_drift_detected(event: DriftDetected) -> None:
    """The drift policy judged a batch drifted (``drift-detected``).

    :param event: why, which columns, the report URI and the serving model.
    """


@hookspec
def arlequin_on_data_quality_failed(event: DataQualityFailed) -> None:
    """A batch failed basic data-quality checks (``data-quality-failed``); it is never trained on.

    :param event: the batch URI, one sentence per finding, the rules and columns at
        fault, and whether the finding counts as drift (``[drift] quality_is_drift``).
    """


@hookspec
def arlequin_on_batch_rejected(event: BatchRejected) -> None:
    """A batch could not be processed (``batch-rejected``).

    :param event: the batch URI and the reason; the batch stays where it is.
    """


@hookspec
def arlequin_on_model_registered(event: ModelRegistered) -> None:
    """A model version was registered (``model-registered``), promoted or not.

    :param event: the model name and version, its run id and whether it is champion.
    """


@hookspec
def arlequin_on_sink_delivered(event: SinkDelivered) -> None:
    """A sink delivered an event to its target (``sink-delivered``).

    :param event: the sink name, the target (build URL, webhook URL) and details.
    """


@hookspec
def arlequin_on_sink_failed(event: SinkFailed) -> None:
    """A sink gave up after its retries (``sink-failed``); see ``arlequin sinks replay``.

    :param event: the sink name and the last error.
    """


@hookspec
def arlequin_on_build_finished(event: BuildFinished) -> None:
    """An external build triggered by a sink finished (``build-finished``).

    :param event: the build URL, number and result (SUCCESS, FAILURE, ...).
    """


@hookspec
def arlequin_on_plugin_failed(event: PluginFailed) -> None:
    """A plugin raised while handling an event (``plugin-failed``).

    A hook that raises on this event is logged only, never re-published.

    :param event: the plugin, the hook and the error message.
    """
