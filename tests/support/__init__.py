"""The one test harness: every test builds its world from these modules (tests/meta/test_harness.py keeps this list true).

Worlds and the CLI
- world.py           World: a loopback index, a target venv, the `main`/`work` trees, the real CLI on them
                     (baseline/sync/plan/run, start/kill_when/kill_at, the state readers, a tarball of a tree)
- cli.py             run_cli / start_cli: `python -m incrinstall` with the test's environment; what a run imported
- resolving.py       the resolver in process: index_client() for a target, roots(), ResolverWorld
- processes.py       wait_for, kill_group (a CLI's process group), group_commands; merge_report for suite figures
- pause_driver.py    `python -m tests.support.pause_driver ARGS`: the real CLI, stalled at one chosen file operation
- stand_in_uv.py     a uv that does part of a phase and waits to be killed; kill_in_phase(world, phase)
Servers (all on 127.0.0.1, all LoopbackServer)
- loopback.py        LoopbackServer: the one server base (threads, TLS, stop, reply); Routes: fixed answers per path
- index_server.py    LoopbackIndex: a PEP 503/691/658/700 simple index over a folder, with a request log
- fault_server.py    FaultIndex: a LoopbackIndex that misbehaves on demand (statuses, resets, stalls, bad content)
- tls.py             a throwaway CA and a server certificate for 127.0.0.1, CA bundles and hashed folders
What the worlds hold
- wheels.py          build_wheel / build_sdist / metadata_text: small valid dists, reproducible bytes
- archives.py        tar and zip archives member by member, hostile members included
- recipe_shapes.py   SHAPES (a project per backend shape of the recipe flow), HOOKED, listing() of a folder
- trees.py           write_tree / write_project (one requirement a line) / marker_env for spec tests
- real_wheels.py     ensure_real_wheels(): hatchling and the other backends, downloaded once
                     (`python -m tests.support.real_wheels`)
- venvs.py           make_venv / installed / pip_check / find_python / uv_pip_install; created_venvs
- envcheck.py        assert_environment_consistent: every RECORD file present with its hash, uv pip check clean
- locked.py          a small project and workspace locked by uv (uv.lock, pylock.toml) for the lock tests
- packse.py          uv's packse scenarios as data, as a loopback index (serve_scenario), as a target
- spec_strategies.py hypothesis strategies for spec files and the readers' property (parse or SpecError)
- synthetic.py       a seeded universe of N packages, its wheels and an Airflow-like project (the benchmarks use it)
- docker_engine.py   a real Docker engine: the base image without a registry, builds, plain logs
- paths.py           REPO_ROOT, TEST_DATA, AIRFLOW_LIKE; harness_cache() for the caches kept between runs
Fixtures (tests/conftest.py): isolated_env (autouse), uv_cache, incrinstall_cache, index, index_factory,
real_wheels_dir, real_wheels_index, venv_factory, run_cli; environments_stay_consistent (autouse: the
teardown check of every venv a passing test made; markers inconsistent_env_ok(reason), tree_packages({name: version})).
"""
