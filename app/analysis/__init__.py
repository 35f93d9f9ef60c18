"""Signal analysis on waveforms: signal quality, beat and breath detection, rates."""
