# The Adam-variant table of docs/REPRODUCTION.md: python3 docs/reproduction-60k/repro_variants.py "NAME=OUT" ...
# Adam variants of docs/REPRODUCTION.md: IPR(v1), λ1, accuracy, convergence per output.
import duckdb, sys, os
rows = []
for name, out in [(a.split('=')[0], a.split('=')[1]) for a in sys.argv[1:]]:
    if not os.path.isdir(out + '/runs'):
        continue
    S = f"read_parquet('{out}/runs/**/snapshots/*.parquet', hive_partitioning=true)"
    M = f"read_parquet('{out}/runs/**/metrics/*.parquet', hive_partitioning=true)"
    r = duckdb.sql(f"""
      with last as (select seed, max(step) st from {S} where optimizer='adam' group by all),
      fin as (select s.seed, s.ipr, s.eigenvalue, s.converged from {S} s join last l on s.seed=l.seed and s.step=l.st where index=1 and optimizer='adam'),
      late as (select avg(ipr) m, max(ipr) mx from {S} where index=1 and optimizer='adam' and step>=80000),
      init as (select avg(ipr) m from {S} where index=1 and optimizer='adam' and step=0),
      acc as (select avg(test_accuracy) a, avg(train_loss) l from {M} where optimizer='adam' and step=100000),
      conv as (select avg(converged::int) c, median(products) p, max(products) mx from {S} where optimizer='adam')
      select (select count(*) from fin) runs, (select m from init) ipr0, (select avg(ipr) from fin) ipr_final, (select min(ipr) from fin) ipr_min, (select max(ipr) from fin) ipr_max,
             (select m from late) ipr_late, (select mx from late) ipr_late_max, (select median(eigenvalue) from fin) l1_median, (select a from acc) acc, (select l from acc) loss,
             (select c from conv) conv, (select p from conv) prod_med, (select mx from conv) prod_max""").fetchall()[0]
    rows.append((name,) + r)
print("| variant | runs | IPR(v1) at 0 | IPR(v1) at 10^5: mean (min–max) | mean IPR(v1), steps ≥ 80,000 (max) | median λ1 at 10^5 | test acc | train loss | converged | products med/max |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (n, runs, i0, fi, fmin, fmax, late, latemax, l1, acc, loss, conv, pmed, pmax) in rows:
    print(f"| {n} | {runs} | {i0:.2e} | {fi:.2e} ({fmin:.2e}–{fmax:.2e}) | {late:.2e} ({latemax:.2e}) | {l1:.2e} | {acc:.4f} | {loss:.2e} | {100*conv:.1f} % | {pmed:.0f}/{pmax} |")
