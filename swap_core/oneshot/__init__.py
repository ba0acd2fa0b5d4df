"""One-shot architecture search: one trained model stands in for training every candidate.
`darts` is DARTS on NAS-Bench-201 with magnitude and perturbation-based selection (Liu et al.,
ICLR 2019; Wang et al., ICLR 2021), `smash` is SMASH (Brock et al., ICLR 2018), a hypernetwork
that generates a network's weights from its architecture — both at small scale, on the CPU;
`command` is `python -m swap_core oneshot`."""
from ..spaces.nb201 import NB201_COLUMNS

# The ground truth both methods are judged by: NAS-Bench-201's CIFAR-10 test accuracy (200 epochs).
NB201_TRUTH = f"nb201_accuracy.csv:{NB201_COLUMNS['cifar10']}"
