"""Sources: components that notice complete batches and emit ``data-arrived``."""
