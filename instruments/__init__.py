"""Instrument capture for IodineLIMS: transport → codec → driver → spool → uplink.

This package runs on the lab PC next to an instrument and talks to the LIMS only over HTTP, so it
never imports `lims`, `flask` or `sqlalchemy` (a test enforces it). Layers: `codecs` (pure,
incremental decoders/encoders for ASTM E1381/E1394, Bio-Rad plate readers, Metrohm PC/LIMS
reports, MT-SICS balances, plate readers' export files), `transport` (pyserial URLs), `driver` (one loop per instrument),
`spool` (durable SQLite queue), `uplink` (HTTP to the LIMS, `wire` is the JSON contract),
`profiles` (TOML instrument profiles), `simulators` (virtual instruments) and `cli`
(``lims-driver``).
"""

from instruments.errors import (
    ChecksumError,
    DeviceReportedError,
    FramingError,
    InstrumentError,
    InstrumentTimeout,
    PlateFileError,
    ProtocolError,
    RecordError,
    SequenceError,
    TransportError,
)
from instruments.records import WELLS, PlateReading, Quarantined, Reading

__all__ = [
    "InstrumentError", "TransportError", "InstrumentTimeout", "ProtocolError", "FramingError",
    "ChecksumError", "SequenceError", "RecordError", "PlateFileError", "DeviceReportedError",
    "Reading", "PlateReading", "Quarantined", "WELLS",
]
