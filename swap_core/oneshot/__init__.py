"""One-shot architecture search: one trained model stands in for training every candidate.
`darts` is DARTS on NAS-Bench-201 with magnitude and perturbation-based selection (Liu et al.,
ICLR 2019; Wang et al., ICLR 2021), `smash` is SMASH (Brock et al., ICLR 2018), a hypernetwork
that generates a network's weights from its architecture — both at small scale, on the CPU;
`command` is `python -m swap_core oneshot`."""
