"""The runnable system: settings, encryption, the worker, the embedded dev stack, demo and benchmark."""
