"""Config schemas (dataclasses in Hydra's ConfigStore) and their cross-field validation."""
