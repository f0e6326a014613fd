/**
 * An IdentityService.zip for the IIS tests on the stand-in server: the stand-in Identity Service's program, its
 * appsettings.json and a web.config for the ASP.NET Core Module (the stand-in IIS starts `node IdentityService.js`),
 * or only the two settings files, for tests that start no service.
 */
import * as fs from "fs";
import * as path from "path";
import { pwsh } from "./iisServer";

const STAND_IN = path.join(__dirname, "..", "fixtures", "identity-service");

export function identityServiceArchive(work: string, { service = true } = {}): string {
    const content = path.join(work, "content");
    fs.mkdirSync(content, { recursive: true });
    for (const file of service ? ["IdentityService.js", "appsettings.json", "lib"] : ["appsettings.json"]) {
        fs.cpSync(path.join(STAND_IN, file), path.join(content, file), { recursive: true });
    }
    fs.writeFileSync(
        path.join(content, "web.config"),
        '<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n  <location path="." inheritInChildApplications="false">\r\n' +
            '    <system.webServer>\r\n      <aspNetCore processPath="node" arguments="IdentityService.js" stdoutLogEnabled="false" stdoutLogFile=".\\logs\\stdout" hostingModel="outofprocess" />\r\n' +
            "    </system.webServer>\r\n  </location>\r\n</configuration>\r\n",
    );
    const archive = path.join(work, "IdentityService.zip");
    pwsh(`Compress-Archive -Path '${content}/*' -DestinationPath '${archive}' -Force`);
    return archive;
}
