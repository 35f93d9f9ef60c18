"""Signal plumbing between drivers and views: ring buffers, numerics, device streams."""
