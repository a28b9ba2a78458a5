"""Training the digit network (TensorFlow lives here and in export/ only)."""
