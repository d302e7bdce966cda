"""Sizes of the official datasets, known without reading them (the shifts depend on these only)."""

TRAIN_CLASS_COUNTS = {
    "mnist": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    "fashion_mnist": (6000,) * 10,
    "cifar10": (5000,) * 10,
}
"""Images per class in the training sets of MNIST, Fashion-MNIST and CIFAR-10."""

TEST_SIZES = {"mnist": 10_000, "fashion_mnist": 10_000, "cifar10": 10_000}
