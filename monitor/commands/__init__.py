"""The commands of ``wirewatch``, by what they are for; each registers on monitor.cli.cli."""
