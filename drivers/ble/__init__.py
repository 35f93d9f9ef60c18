"""Bluetooth LE wearables: GATT parsers, the Polar PMD protocol, and the bleak transport."""
