"""The Python client (Client and AdminClient) under mutual TLS, against the
real ebsp-coordinator with certificates made by make_certs.sh (openssl CLI)
at test time; a client without a certificate or trusting another CA is
refused."""

import os
import subprocess
import sys

import grpc
import pytest

import ebsp
from ebsp_test_servers import ServerProcess

HERE = os.path.dirname(os.path.abspath(__file__))


def coordinator_binary() -> str:
    path = os.environ.get("EBSP_COORDINATOR", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"EBSP_COORDINATOR={path!r} is not an executable ebsp-coordinator")
    return path


@pytest.fixture
def certs(tmp_path):
    out = tmp_path / "certs"
    subprocess.run(["/bin/bash", os.path.join(HERE, "make_certs.sh"), str(out)], check=True,
                   timeout=60)
    return out


@pytest.fixture
def mtls_coordinator(tmp_path, certs):
    proc = ServerProcess(coordinator_binary(), [
        f"--tls_cert={certs / 'server.pem'}", f"--tls_key={certs / 'server.key'}",
        f"--tls_client_ca={certs / 'ca.pem'}", "--tls_require_client_cert",
    ], workdir=str(tmp_path / "coordinator"))
    proc.start()
    yield proc
    proc.stop()


def tls(certs, ca="ca.pem", client="client", server_name="coordinator.test"):
    return ebsp.TlsOptions(
        ca_file=str(certs / ca),
        cert_file=str(certs / f"{client}.pem") if client else None,
        key_file=str(certs / f"{client}.key") if client else None,
        server_name=server_name)


def test_client_and_admin_normal_path_under_mutual_tls(mtls_coordinator, certs):
    options = tls(certs)
    with ebsp.AdminClient(mtls_coordinator.target, tls=options) as admin:
        admin.create_job("py-mtls", policy="bsp")
        with ebsp.Client(mtls_coordinator.target, job="py-mtls", worker_name="w0",
                         tls=options) as worker:
            for _ in range(5):
                assert worker.step_done(0.001)
                worker.sync()
        job = admin.get_job("py-mtls")
        assert job.rounds_completed == 5
        admin.delete_job("py-mtls")
    assert "transport=mtls " in mtls_coordinator.log()


@pytest.mark.parametrize("case", ["no_client_cert", "wrong_ca", "plaintext"])
def test_refused_handshakes(mtls_coordinator, certs, case):
    no_retry = ebsp.NO_RETRY
    if case == "no_client_cert":
        options = tls(certs, client=None)
    elif case == "wrong_ca":
        options = tls(certs, ca="other_ca.pem")
    else:
        options = None
    with ebsp.AdminClient(mtls_coordinator.target, tls=options, retry=no_retry,
                          call_timeout=5.0) as admin:
        with pytest.raises(ebsp.CoordinatorError) as err:
            admin.list_jobs()
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
    # Control: the same coordinator serves the right credentials.
    with ebsp.AdminClient(mtls_coordinator.target, tls=tls(certs)) as admin:
        admin.list_jobs()


def test_admin_token_from_the_python_admin_client(tmp_path, certs):
    token_file = tmp_path / "admin.token"
    token_file.write_text("py-admin-token-0123456789\n")
    proc = ServerProcess(coordinator_binary(), [
        f"--tls_cert={certs / 'server.pem'}", f"--tls_key={certs / 'server.key'}",
        f"--tls_client_ca={certs / 'ca.pem'}", "--tls_require_client_cert",
        f"--admin_token_file={token_file}",
    ], workdir=str(tmp_path / "coordinator"))
    proc.start()
    try:
        with ebsp.AdminClient(proc.target, tls=tls(certs)) as anonymous:
            with pytest.raises(ebsp.CoordinatorError) as err:
                anonymous.create_job("py-admin", policy="bsp")
            assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
        with ebsp.AdminClient(proc.target, tls=tls(certs), token="wrong-token") as wrong:
            with pytest.raises(ebsp.CoordinatorError) as err:
                wrong.create_job("py-admin", policy="bsp")
            assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
        with ebsp.AdminClient(proc.target, tls=tls(certs),
                              token="py-admin-token-0123456789") as admin:
            admin.create_job("py-admin", policy="bsp", auth_token="job-token")
        # A worker of the job registers with the job's token, as always.
        with ebsp.Client(proc.target, job="py-admin", worker_name="w0", tls=tls(certs),
                         auth_token="job-token") as worker:
            assert worker.step_done(0.001)
            worker.sync()
        # The job's own token administers it.
        with ebsp.AdminClient(proc.target, tls=tls(certs), token="job-token") as owner:
            owner.delete_job("py-admin")
        assert "py-admin-token" not in proc.log()
    finally:
        proc.stop()


def test_unreadable_tls_file_is_a_value_error(certs):
    with pytest.raises(ValueError, match="missing.pem"):
        ebsp.AdminClient("127.0.0.1:1", tls=tls(certs, ca="missing.pem"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
