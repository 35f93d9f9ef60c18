"""Bluetooth LE wearables in the station: the allow-list, pairing to beds, and their state."""
