"""wirewatch: collect news from many sources and flag the stories about the subjects you follow."""

__version__ = "0.1.0"

# The environment variable naming the config file (see monitor.config.loading.find_path).
CONFIG_ENV_VAR = "WIREWATCH_CONFIG"
