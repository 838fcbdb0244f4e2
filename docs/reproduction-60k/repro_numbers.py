# The numbers of docs/REPRODUCTION.md from a sweep output: python3 docs/reproduction-60k/repro_numbers.py OUT
# (DuckDB; OUT defaults to /var/tmp/es-60k). Not named numbers.py: that would shadow the
# standard library module duckdb imports.
import duckdb, sys
O = sys.argv[1] if len(sys.argv) > 1 else '/var/tmp/es-60k'
A = O + '/analysis'
S = f"read_parquet('{O}/runs/**/snapshots/*.parquet', hive_partitioning=true)"
M = f"read_parquet('{O}/runs/**/metrics/*.parquet', hive_partitioning=true)"
q = lambda s: duckdb.sql(s)
print("== tau"); print(q(f"select index, networks, mean_abs_cos, tau, parameters from '{A}/displacement_baseline.parquet' order by index"))
print("== IPR v1 at steps (mean/min/max over seeds)")
print(q(f"""with last as (select optimizer, max(step) s from {S} group by all)
select optimizer, step, round(avg(ipr),6) mean, round(min(ipr),6) min, round(max(ipr),6) max, count(*) n from {S}
where index=1 and (step in (0, 100, 1000, 10000, 50000) or step = (select max(step) from {S})) group by all order by optimizer, step"""))
print("== IPR v1 over last 20% of training, mean per optimizer")
print(q(f"select optimizer, avg(ipr) mean_ipr, max(ipr) max_ipr from {S} where index=1 and step>=80000 group by all order by all"))
print("== final train loss, test acc")
print(q(f"""select optimizer, avg(train_loss) loss_mean, min(train_loss) lmin, max(train_loss) lmax, avg(test_accuracy) acc_mean, min(test_accuracy) amin, max(test_accuracy) amax from {M}
where step=(select max(step) from {M}) group by all order by all"""))
print("== lambda per optimizer: peak of mean lambda1, final")
print(q(f"""with m as (select optimizer, step, avg(eigenvalue) l from {S} where index=1 group by all)
select optimizer, max(l) peak, arg_max(step, l) at_step, (select avg(eigenvalue) from {S} s where s.optimizer=m.optimizer and index=1 and step=100000) final from m group by all order by all"""))
print("== gaps lambda1-lambda2 relative, final")
print(q(f"""select optimizer, seed, step, max(case when index=1 then eigenvalue end) l1, max(case when index=2 then eigenvalue end) l2, max(case when index=3 then eigenvalue end) l3 from {S} where step=100000 group by all order by all"""))
print("== converged share & products per optimizer")
print(q(f"select optimizer, avg(converged::int) conv, median(products) med_products, max(products) max_products from {S} group by all order by all"))
print("== run alignment means over seeds")
print(q(f"select optimizer, index, round(avg(mean_grad_alignment),4) a_grad, round(avg(mean_update_alignment),4) a_upd, round(min(mean_update_alignment),4) upd_min, round(max(mean_update_alignment),4) upd_max from '{A}/run_alignment.parquet' group by all order by all"))
print("== displacement: Delta(t_w, max lag)/tau for t_w picks, mean over seeds")
print(q(f"""with b as (select tau from '{A}/displacement_baseline.parquet' where index=1),
d as (select optimizer, step_w, lag, avg(delta) delta from read_parquet('{A}/displacement/**/*.parquet') where index=1 group by all),
last as (select optimizer, step_w, arg_max(delta, lag) d_last, max(lag) maxlag, max(delta) dmax from d group by all)
select optimizer, step_w, maxlag, round(d_last/(select tau from b),3) last_over_tau, round(dmax/(select tau from b),3) max_over_tau from last where step_w in (0,1,16,259,1024,5128,20000,50000) order by all"""))
print("== late-lag plateau: mean Delta over pairs with lag >= 20000, / tau")
print(q(f"""select optimizer, round(avg(delta)/(select tau from '{A}/displacement_baseline.parquet' where index=1),3) plateau_over_tau, count(*) pairs from read_parquet('{A}/displacement/**/*.parquet') where index=1 and lag>=20000 group by all order by all"""))
print("== early collapse: Delta at lag ~10 for t_w in 0,1,16 and aging: lag where mean Delta first reaches tau/2")
print(q(f"""with d as (select optimizer, step_w, lag, avg(delta) delta from read_parquet('{A}/displacement/**/*.parquet') where index=1 group by all),
b as (select tau from '{A}/displacement_baseline.parquet' where index=1)
select optimizer, step_w, min(lag) filter (where delta >= (select tau from b)/2) lag_half_tau, min(lag) filter (where delta >= (select tau from b)/10) lag_tenth_tau from d where step_w in (0,1,16,259,1024,5128,20000) group by all order by all"""))
print("== convergence: first step where mean |cos| with final >= 0.8, per index")
print(q(f"""with c as (select optimizer, index, step, avg(abs_cos) c from read_parquet('{A}/convergence/**/*.parquet') group by all)
select optimizer, index, min(step) filter (where c>=0.8) first_08, min(step) filter (where c>=0.5) first_05, round(avg(c),3) mean_c from c group by all order by all"""))
print("== update alignment two-time: t_w=0 vs later, lag 1 and max lag")
print(q(f"""with u as (select optimizer, step_w, lag, avg(alignment) a from read_parquet('{A}/update_alignment_two_time/**/*.parquet') where index=1 group by all)
select optimizer, step_w, round(arg_min(a, lag),3) a_first_lag, min(lag) first_lag, round(arg_max(a, lag),3) a_last_lag, max(lag) last_lag from u where step_w in (0, 1, 259, 5128, 50000) group by all order by all"""))
print("== max |v1| at final step (Fig 16 colour ratio) per run")
print(q(f"""select optimizer, seed, round(list_max(list_transform(eigenvector, lambda x: abs(x))),4) maxabs, round(ipr,6) ipr from {S} where index=1 and step=100000 order by all"""))
