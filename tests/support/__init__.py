"""Shared test infrastructure: wheel/sdist builders, a loopback package index, real-wheel cache, venv helpers.

- wheels.py        build_wheel / build_sdist / metadata_text: small valid dists, reproducible bytes
- index_server.py  LoopbackIndex: a PEP 503/691/658 simple index on 127.0.0.1 with a request log
- real_wheels.py   ensure_real_wheels(): hatchling + deps downloaded once (`python -m tests.support.real_wheels`)
- venvs.py         make_venv / installed / pip_check / find_python / uv_pip_install; created_venvs (every venv make_venv made)
- envcheck.py      assert_environment_consistent: every RECORD file present with its hash, uv pip check clean
- pause_driver.py  `python -m tests.support.pause_driver ARGS`: the real CLI, stalled at one chosen file operation
- spec_strategies.py  hypothesis strategies for spec files and the readers' property (parse or SpecError)
Fixtures (tests/conftest.py): isolated_env (autouse), uv_cache, incrinstall_cache, index, index_factory,
real_wheels_dir, real_wheels_index, venv_factory, run_cli; environments_stay_consistent (autouse: the
teardown check of every venv a passing test made; markers inconsistent_env_ok(reason), tree_packages({name: version})).
"""
