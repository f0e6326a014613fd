export {
    ClientArgs,
    CreatioSystemSettings,
    DatabaseArgs,
    DatabaseProvider,
    DeploymentTarget,
    DockerArgs,
    DockerBuildArgs,
    DockerHttpsArgs,
    IdentityServiceArgs,
    LogLevel,
    ReadinessArgs,
    RestartPolicy,
    SigningCertificateArgs,
    TlsCertificateArgs,
} from "./args";
export { IdentityService } from "./component";
