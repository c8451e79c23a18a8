"""What the operators, sensors and triggers share; imports nothing heavy, so DAG parsing stays cheap."""
