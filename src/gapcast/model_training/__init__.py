"""Model training: strategies (the model registry), the run orchestration and its results.

Importing this package loads nothing heavy; Keras is imported (through ``keras_env``) only when a
model is built, trained or loaded.
"""
