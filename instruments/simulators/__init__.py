"""Virtual instruments speaking the same formats as the real ones, for tests, demos and benchmarks.

Each runs the instrument's end of a port (`base.PtyPort` or a pyserial URL) in a blocking
``run(stop_event)`` loop and sets ``done`` once everything it was asked to send is out.
`MODELS` maps the protocol names of instrument profiles to the simulator of that protocol.
"""

from instruments.simulators.astm import AstmAnalyzer
from instruments.simulators.balance import Balance
from instruments.simulators.base import Faults, PtyPort, SerialPort, open_port, parse_faults
from instruments.simulators.plate_reader import PlateReader
from instruments.simulators.titrator import Titrator

__all__ = [
    "AstmAnalyzer",
    "PlateReader",
    "Titrator",
    "Balance",
    "Faults",
    "PtyPort",
    "SerialPort",
    "open_port",
    "parse_faults",
    "MODELS",
]

MODELS = {"astm": AstmAnalyzer, "biorad": PlateReader, "metrohm": Titrator, "mtsics": Balance}
