"""The commands of ``wirewatch``, by what they are for; monitor.cli adds each to its group."""
