"""The physiological simulator: a real driver playing documented scenarios."""

from drivers.sim.driver import SimulatedMonitor
from drivers.sim.generator import STEP, BedSimulator
from drivers.sim.scenarios import SCENARIO_NAMES, SCENARIOS, get_scenario
from drivers.sim.timeline import PhysiologyState, Rhythm, Scenario

__all__ = [
    "SCENARIOS",
    "SCENARIO_NAMES",
    "STEP",
    "BedSimulator",
    "PhysiologyState",
    "Rhythm",
    "Scenario",
    "SimulatedMonitor",
    "get_scenario",
]
