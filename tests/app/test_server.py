"""How the app starts (``workbench.appsupport.server``): its settings and the server command."""

from __future__ import annotations

import pytest

from workbench.appsupport import AppSettings, app_environment, host_warning, streamlit_command
from workbench.errors import WorkbenchError


def test_streamlit_command_is_local_headless_private_and_capped(settings):
    cmd = streamlit_command(settings)
    opts = dict(zip(cmd[5::2], cmd[6::2]))
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app/Home.py")
    assert opts["--server.address"] == "127.0.0.1"
    assert opts["--browser.gatherUsageStats"] == "false"
    assert opts["--server.enableXsrfProtection"] == "true"
    assert opts["--server.headless"] == "true"
    assert opts["--server.maxUploadSize"] == "1"
    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None
    assert "reachable from other machines" in host_warning("0.0.0.0")


def test_settings_travel_through_the_environment(settings):
    env = app_environment(settings, environ={})
    again = AppSettings.from_env(env)
    assert again == settings
    assert AppSettings.from_env({"WORKBENCH_WORKSPACE": "/tmp/w"}).workspace == "/tmp/w"
    with pytest.raises(WorkbenchError, match="port"):
        AppSettings(port=0)


def test_cli_app_prints_a_local_command(tmp_path, capsys):
    from workbench.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["app", "--workspace", str(tmp_path), "--print-command", "--max-upload-mb", "5"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--server.address 127.0.0.1" in out and "--server.maxUploadSize 5" in out


def test_sigterm_to_workbench_app_stops_the_streamlit_server_too(tmp_path):
    """A service manager or a test fixture stops ``workbench app`` with SIGTERM: the Streamlit child
    must go with it, not keep serving the port as an orphan."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    import psutil

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "workbench.cli", "app", "--workspace", str(tmp_path / "ws"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)
    children = []
    try:
        deadline = time.time() + 90
        while not children and time.time() < deadline and process.poll() is None:
            children = psutil.Process(process.pid).children(recursive=True)
            time.sleep(0.2)
        assert children, "workbench app started no server"
        while time.time() < deadline:  # the server is up: SIGTERM now reaches the installed handler
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        process.terminate()
        assert process.wait(timeout=20) is not None
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"streamlit left running: {[p.pid for p in alive]}"
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if process.poll() is None:
            process.kill()
            process.wait()
