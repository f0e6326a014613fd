"""Creatio's Identity Service in Docker, deployed from Python.

The names below are those of the SDK Pulumi generates from the component's schema: nested inputs are
`<Type>Args` classes, properties are snake_case, enum members are UPPER_CASE.
"""
import pulumi
import pulumi_creatio_identity_service as ids

config = pulumi.Config()

identity_service = ids.IdentityService(
    "identity-service",
    target=ids.DeploymentTarget.DOCKER,
    creatio_version=config.get("creatioVersion") or "8.2.3",
    database=ids.DatabaseArgs(
        provider=ids.DatabaseProvider.POSTGRES,
        connection_string=config.require_secret("connectionString"),
    ),
    client=ids.ClientArgs(
        creatio_url=config.get("creatioUrl"),
        access_token_lifetime_seconds=3600,
    ),
    signing_certificate=ids.SigningCertificateArgs(
        path=config.require("signingCertificatePath"),
    ),
    log_level=ids.LogLevel.INFORMATION,
    docker=ids.DockerDeploymentArgs(
        build=ids.DockerBuildArgs(context=config.require("identityServiceFolder")),
        http_port=8090,
        restart=ids.RestartPolicy.UNLESS_STOPPED,
    ),
    readiness=ids.ReadinessArgs(timeout_seconds=300),
)

pulumi.export("url", identity_service.url)
pulumi.export("client_id", identity_service.client_id)
pulumi.export("client_secret", identity_service.client_secret)
pulumi.export("creatio_system_settings", identity_service.creatio_system_settings)
