"""Built-in tool executors: dice (d20), SRD look-ups (SQLite) and a combat tracker."""

from dnd_ft.tools.executors.combat import Combatant, CombatTracker
from dnd_ft.tools.executors.executor import ToolExecutor
from dnd_ft.tools.executors.srd import SRD

__all__ = ["SRD", "CombatTracker", "Combatant", "ToolExecutor"]
