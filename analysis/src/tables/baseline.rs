//! The `baseline` table (Eq. 4): the displacement between unrelated eigenvectors, from
//! networks at independent random initialisations.

eigensweep_worker::table! {
    /// τ for one dataset and eigen-index, over all pairs of random-init networks.
    pub struct BaselineStatsRow;
    table = "displacement_baseline",
    description = "One row per dataset and eigen-index: the random-initialisation baseline τ = mean over all network pairs of Δ = (2 − 2|cos|)/N, with the mean |cos|, its standard deviation and the number of pairs.",
    {
        dataset: String = Utf8 "Dataset whose training samples define the Hessians.",
        index: u32 = Int64 "1-based rank of the eigenpair.",
        networks: u64 = Int64 "Random-initialisation networks M with this index.",
        pairs: u64 = Int64 "Network pairs averaged over: M(M − 1)/2.",
        mean_abs_cos: f64 = Float64 "Mean of |v(θ)·v(ψ)| over the pairs (the paper: 0.0523 for MNIST, 0.0492 for FashionMNIST).",
        std_abs_cos: f64 = Float64 "Sample standard deviation (n − 1) of |v(θ)·v(ψ)| over the pairs; NaN for a single pair.",
        tau: f64 = Float64 "τ^(i) = mean of Δ over the pairs = (2 − 2·mean_abs_cos)/N (Eq. 4; the red line of Fig. 1).",
        parameters: u64 = Int64 "N: length of the eigenvectors (parameters of the network).",
    }
}
