"""Parameter sweeps without Airflow: hyperparameter grids (validation, expansion, the point a run's logical
date picks) and a shared leaderboard kept as one storage object per entry, so concurrent runs never
overwrite each other."""
