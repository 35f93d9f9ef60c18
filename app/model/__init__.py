"""Domain models: ward, beds, patients. They know nothing of Qt; views subscribe to them."""
