/**
 * Compares the public surface of the stand-in Microsoft.Web.Administration (reflected by mwaSurface.ps1) with the real
 * API's member list (test/fixtures/iis-server/mwa-members.json): the stand-in may lack members, never have others.
 */

/** One class of the real API, as mwa-members.json lists it. */
export interface RealClass {
    readonly base: string;
    readonly sealed?: boolean;
    readonly abstract?: boolean;
    readonly implements?: readonly string[];
    readonly constructors?: readonly string[];
    readonly properties: readonly string[];
    readonly methods: readonly string[];
    readonly overloads?: Readonly<Record<string, readonly string[]>>;
    readonly not_in_api?: readonly string[];
}

export interface MemberList {
    readonly classes: Readonly<Record<string, RealClass>>;
    readonly enum_values: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface Member {
    readonly name: string;
    readonly parameters: readonly string[];
}

export interface StandInType {
    readonly name: string;
    readonly kind: "class" | "enum";
    readonly base: string | null;
    readonly sealed: boolean;
    readonly abstract: boolean;
    readonly interfaces: readonly string[];
    readonly constructors: readonly (readonly string[])[];
    readonly properties: readonly Member[];
    readonly methods: readonly Member[];
    readonly values: Readonly<Record<string, number>> | null;
}

export interface StandInSurface {
    readonly types: readonly StandInType[];
}

/** The parameter types of a signature as the member list writes it: "new (String a, Int32 b)", "[String name] (get)", "X(String a)". */
export function signatureTypes(signature: string): string[] {
    const match = /^\s*(?:new\s+|static\s+)?(?:\w+)?\s*(?:\(([^)]*)\)|\[(.*?)\]\s*\()/.exec(signature);
    if (!match) {
        throw new Error(`not a signature: ${signature}`);
    }
    return (match[1] ?? match[2])
        .split(",")
        .map(part => part.trim().split(/\s+/)[0])
        .filter(type => type !== "");
}

const show = (types: readonly string[]) => types.join(", ");

/** Every way the stand-in's surface departs from the real API's; empty when it has nothing the real one lacks. */
export function surfaceViolations(surface: StandInSurface, members: MemberList): string[] {
    const violations: string[] = [];
    for (const type of surface.types) {
        if (type.kind === "enum") {
            const real = members.enum_values[type.name];
            if (!real) {
                violations.push(`${type.name}: not an enum of the real API`);
                continue;
            }
            for (const [name, value] of Object.entries(type.values ?? {})) {
                if (real[name] !== value) {
                    violations.push(`${type.name}.${name} = ${value}: the real enum has ${real[name] === undefined ? "no such value" : `${name} = ${real[name]}`}`);
                }
            }
            continue;
        }
        const real = members.classes[type.name];
        if (!real) {
            violations.push(`${type.name}: not a public class of the real API`);
            continue;
        }
        if (type.base !== real.base) {
            violations.push(`${type.name}: base ${type.base}, the real class's is ${real.base}`);
        }
        if (real.sealed !== undefined && real.sealed !== type.sealed) {
            violations.push(`${type.name}: ${type.sealed ? "sealed" : "not sealed"}, the real class is ${real.sealed ? "sealed" : "not sealed"}`);
        }
        if ((real.abstract ?? false) !== type.abstract) {
            violations.push(`${type.name}: ${type.abstract ? "abstract" : "not abstract"}, the real class is ${real.abstract ? "abstract" : "not abstract"}`);
        }
        for (const implemented of type.interfaces) {
            if (!(real.implements ?? []).includes(implemented)) {
                violations.push(`${type.name}: implements ${implemented}, the real class does not declare it`);
            }
        }
        const constructors = (real.constructors ?? []).map(signatureTypes);
        for (const constructor of type.constructors) {
            if (!constructors.some(c => show(c) === show(constructor))) {
                violations.push(`${type.name}: public constructor (${show(constructor)}) is not one of the real class's (${constructors.length === 0 ? "none" : constructors.map(show).join(" | ")})`);
            }
        }
        const check = (kind: "property" | "method", member: Member, names: readonly string[]) => {
            if (!names.includes(member.name)) {
                const named = (real.not_in_api ?? []).includes(member.name) ? " (named as not in the API)" : "";
                violations.push(`${type.name}: ${kind} ${member.name} is not a member of the real class${named}`);
                return;
            }
            const overloads = real.overloads?.[member.name];
            if (overloads && !overloads.map(signatureTypes).some(o => show(o) === show(member.parameters))) {
                violations.push(`${type.name}: ${member.name}(${show(member.parameters)}) is not an overload of the real class (${overloads.map(o => show(signatureTypes(o))).join(" | ")})`);
            }
        };
        type.properties.forEach(p => check("property", p, real.properties));
        type.methods.forEach(m => check("method", m, real.methods));
    }
    return violations.sort();
}
