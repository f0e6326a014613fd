export {
    Client,
    CreatioSystemSettings,
    Database,
    DatabaseProvider,
    DeploymentTarget,
    DockerBuild,
    DockerDeployment,
    DockerHttps,
    IdentityServiceArgs,
    IisAppPoolIdentity,
    IisDeployment,
    IisHttps,
    IisStdoutLog,
    LogLevel,
    Readiness,
    RestartPolicy,
    SigningCertificate,
    TlsCertificate,
} from "./args";
export { IdentityService } from "./component";
export {
    CreatioConnectionOptions,
    CreatioHealthCheckResult,
    CreatioInstance,
    CreatioOAuthConnectionArgs,
    CreatioRuntime,
    CreatioTls,
    IdentityServiceCreatio,
} from "./creatioArgs";
export { CreatioOAuthConnection } from "./creatioConnection";
