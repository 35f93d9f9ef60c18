"""Vigil's Qt-free domain and engine: ward model, signal buffers, station, command line."""
