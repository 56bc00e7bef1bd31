"""Data: the built-in data sets (Playground's 2-D sets, moons, digits), the input features,
and CSV import. Above core; imports NumPy only."""

from bpstudio.data.csvdata import CsvError, CsvTable, read_csv
from bpstudio.data.datasets import FEATURES, Dataset, DatasetError, DatasetRecipe, make_dataset

__all__ = [
    "FEATURES",
    "CsvError",
    "CsvTable",
    "Dataset",
    "DatasetError",
    "DatasetRecipe",
    "make_dataset",
    "read_csv",
]
