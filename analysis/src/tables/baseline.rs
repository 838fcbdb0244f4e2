//! The `baseline` table (Eq. 4): the displacement between unrelated eigenvectors, from
//! networks at independent random initialisations.

use super::columns::analysis_table;

analysis_table! {
    /// τ for one dataset and eigen-index, over all pairs of random-init networks.
    BaselineStatsRow, table = "displacement_baseline",
    description = "One row per dataset and eigen-index: the random-initialisation baseline τ = mean over all network pairs of Δ = (2 − 2|cos|)/N, with the mean |cos|, its standard deviation and the number of pairs.",
    {
        /// Dataset name.
        dataset: str = Utf8 "Dataset whose training samples define the Hessians.",
        /// Eigen-index.
        index: u32 = Int64 "1-based rank of the eigenpair.",
        /// M.
        networks: u64 = Int64 "Random-initialisation networks M with this index.",
        /// M(M−1)/2.
        pairs: u64 = Int64 "Network pairs averaged over: M(M − 1)/2.",
        /// mean |cos|.
        mean_abs_cos: f64 = Float64 "Mean of |v(θ)·v(ψ)| over the pairs (the paper: 0.0523 for MNIST, 0.0492 for FashionMNIST).",
        /// std |cos|.
        std_abs_cos: f64 = Float64 "Sample standard deviation (n − 1) of |v(θ)·v(ψ)| over the pairs; NaN for a single pair.",
        /// τ.
        tau: f64 = Float64 "τ^(i) = mean of Δ over the pairs = (2 − 2·mean_abs_cos)/N (Eq. 4; the red line of Fig. 1).",
        /// N.
        parameters: u64 = Int64 "N: length of the eigenvectors (parameters of the network).",
    }
}
