"""Training pipeline of the AAMI beat classifier (``python -m training.beats``)."""
