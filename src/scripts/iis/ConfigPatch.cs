// Patches the Identity Service's appsettings.json and web.config in place.
//
// configure.ps1 compiles this file with Add-Type (Windows PowerShell 5.1, .NET Framework 4.x, C# 5) and the
// package's tests compile and run the same file on real files with Mono, so the merge has one implementation.
// Keep it C# 5 (no string interpolation, no ?. operator, no expression-bodied members) and dependent on the
// System and System.Xml assemblies only.
//
// appsettings.json: parsed, the patch (a JSON object) merged in recursively, every other key kept in its place,
// written back as UTF-8 without a byte order mark, indented with two spaces, with the file's own line endings.
// Keys match case-insensitively (as .NET configuration reads them) and keep the file's spelling. The file is
// written only when its bytes change, so a second run with the same patch leaves it byte-identical.
//
// A changed file is written to a temporary file the caller names (configure.ps1 puts it in the upload folder, which
// only Administrators and SYSTEM can read, so the secrets are never in a file other users can read), then moved over
// the file with File.Replace, which keeps the replaced file's permissions and leaves no half-written file behind.
//
// web.config: the <aspNetCore> element's stdoutLogEnabled (and, when given, stdoutLogFile) attributes are set, and
// its <environmentVariables> hold the variables given (the user's `environment`): each is set (names match
// case-insensitively, as Windows and the ASP.NET Core Module read them), and a variable the package set before (the
// names given as previous) but not now is removed; a variable of anyone else is kept. Without variables now or
// before, the element is not touched. Everything else, whitespace included, is kept.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Xml;

namespace CreatioIdentityService
{
    public static class ConfigPatch
    {
        private static readonly Encoding Utf8NoBom = new UTF8Encoding(false, true);

        /// <summary>Merges <paramref name="patchJson"/> into the file; returns "changed" or "unchanged".</summary>
        public static string PatchAppSettingsFile(string path, string patchJson, string temporaryPath)
        {
            byte[] original = File.ReadAllBytes(path);
            string text = Decode(original, "appsettings.json");
            string patched = PatchAppSettingsText(text, patchJson);
            return WriteIfChanged(path, original, patched, temporaryPath);
        }

        /// <summary>The merge on text: the file's content (without a byte order mark) and the patch.</summary>
        public static string PatchAppSettingsText(string text, string patchJson)
        {
            JsonObject document = new JsonParser(text, "appsettings.json").ParseDocument() as JsonObject;
            if (document == null)
            {
                throw new FormatException("appsettings.json: the file does not hold a JSON object");
            }
            JsonObject patch = new JsonParser(patchJson, "the configuration patch").ParseDocument() as JsonObject;
            if (patch == null)
            {
                throw new FormatException("the configuration patch is not a JSON object");
            }
            Merge(document, patch);
            string newline = text.Contains("\r\n") ? "\r\n" : "\n";
            StringBuilder output = new StringBuilder();
            Write(output, document, 0, newline);
            if (text.EndsWith("\n"))
            {
                output.Append(newline);
            }
            return output.ToString();
        }

        /// <summary>
        /// Sets the stdout log attributes and the environment variables of &lt;aspNetCore&gt;; returns "changed" or
        /// "unchanged". <paramref name="environmentJson"/> is a JSON object of names and string values,
        /// <paramref name="previousNamesJson"/> a JSON array of the names set before (either may be null: none).
        /// </summary>
        public static string PatchWebConfigFile(string path, bool stdoutLogEnabled, string stdoutLogFile, string environmentJson, string previousNamesJson, string temporaryPath)
        {
            byte[] original = File.ReadAllBytes(path);
            string text = Decode(original, "web.config");
            string patched = PatchWebConfigText(text, stdoutLogEnabled, stdoutLogFile, environmentJson, previousNamesJson);
            return WriteIfChanged(path, original, patched, temporaryPath);
        }

        public static string PatchWebConfigText(string text, bool stdoutLogEnabled, string stdoutLogFile, string environmentJson, string previousNamesJson)
        {
            XmlDocument document = new XmlDocument();
            document.PreserveWhitespace = true;
            document.XmlResolver = null;
            try
            {
                document.LoadXml(text);
            }
            catch (XmlException e)
            {
                throw new FormatException("web.config is not valid XML: " + e.Message);
            }
            XmlElement module = FindAspNetCore(document);
            if (module == null)
            {
                throw new FormatException(
                    "web.config has no <aspNetCore> element under <system.webServer>; is this the Identity Service's web.config?");
            }
            module.SetAttribute("stdoutLogEnabled", stdoutLogEnabled ? "true" : "false");
            if (!string.IsNullOrEmpty(stdoutLogFile))
            {
                module.SetAttribute("stdoutLogFile", stdoutLogFile);
            }
            SetEnvironmentVariables(document, module, ParseVariables(environmentJson), ParseNames(previousNamesJson));
            string result = document.OuterXml;
            // XML parsing turns CRLF into LF; give the file its own line endings back.
            if (text.Contains("\r\n"))
            {
                result = result.Replace("\r\n", "\n").Replace("\n", "\r\n");
            }
            return result;
        }

        /// <summary>The names of the variables of <paramref name="environmentJson"/>, as a JSON array (to record them).</summary>
        public static string NamesOf(string environmentJson)
        {
            StringBuilder output = new StringBuilder("[");
            foreach (KeyValuePair<string, string> variable in ParseVariables(environmentJson))
            {
                output.Append(output.Length > 1 ? "," : "");
                WriteString(output, variable.Key);
            }
            return output.Append(']').ToString();
        }

        private static List<KeyValuePair<string, string>> ParseVariables(string json)
        {
            List<KeyValuePair<string, string>> variables = new List<KeyValuePair<string, string>>();
            if (string.IsNullOrEmpty(json))
            {
                return variables;
            }
            JsonObject parsed = new JsonParser(json, "the environment variables").ParseDocument() as JsonObject;
            if (parsed == null)
            {
                throw new FormatException("the environment variables are not a JSON object");
            }
            foreach (KeyValuePair<string, JsonNode> member in parsed.Members)
            {
                JsonString value = member.Value as JsonString;
                if (value == null)
                {
                    throw new FormatException("the environment variable " + member.Key + " is not a string");
                }
                variables.Add(new KeyValuePair<string, string>(member.Key, value.Value));
            }
            return variables;
        }

        private static List<string> ParseNames(string json)
        {
            List<string> names = new List<string>();
            if (string.IsNullOrEmpty(json))
            {
                return names;
            }
            JsonArray parsed = new JsonParser(json, "the names of the environment variables set before").ParseDocument() as JsonArray;
            if (parsed == null)
            {
                throw new FormatException("the names of the environment variables set before are not a JSON array");
            }
            foreach (JsonNode item in parsed.Items)
            {
                JsonString name = item as JsonString;
                if (name == null)
                {
                    throw new FormatException("a name of an environment variable set before is not a string");
                }
                names.Add(name.Value);
            }
            return names;
        }

        private static bool ContainsName(List<string> names, string name)
        {
            foreach (string candidate in names)
            {
                if (string.Equals(candidate, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>
        /// The &lt;environmentVariables&gt; of &lt;aspNetCore&gt;: the variables given set, those set before and not
        /// given now removed, every other one kept. Nothing is touched without variables now or before.
        /// </summary>
        private static void SetEnvironmentVariables(XmlDocument document, XmlElement module, List<KeyValuePair<string, string>> variables, List<string> previous)
        {
            if (variables.Count == 0 && previous.Count == 0)
            {
                return;
            }
            List<string> names = new List<string>();
            foreach (KeyValuePair<string, string> variable in variables)
            {
                names.Add(variable.Key);
            }
            XmlElement container = null;
            foreach (XmlNode child in module.ChildNodes)
            {
                XmlElement element = child as XmlElement;
                if (element != null && element.Name == "environmentVariables")
                {
                    container = element;
                    break;
                }
            }
            bool removed = false;
            Dictionary<string, XmlElement> existing = new Dictionary<string, XmlElement>(StringComparer.OrdinalIgnoreCase);
            if (container != null)
            {
                List<XmlElement> entries = new List<XmlElement>();
                foreach (XmlNode child in container.ChildNodes)
                {
                    XmlElement element = child as XmlElement;
                    if (element != null && element.Name == "environmentVariable")
                    {
                        entries.Add(element);
                    }
                }
                foreach (XmlElement entry in entries)
                {
                    string name = entry.GetAttribute("name");
                    if (!ContainsName(names, name) && ContainsName(previous, name))
                    {
                        RemoveWithIndentation(entry);
                        removed = true;
                    }
                    else if (!existing.ContainsKey(name))
                    {
                        existing.Add(name, entry);
                    }
                }
            }
            if (variables.Count == 0)
            {
                if (removed && container != null && !HasElementChildren(container))
                {
                    RemoveWithIndentation(container);
                }
                return;
            }
            string indent = IndentationOf(module);
            if (container == null)
            {
                container = document.CreateElement("environmentVariables");
                AppendIndented(module, container, indent + "  ", indent);
            }
            string entryIndent = IndentationOf(container) + "  ";
            foreach (KeyValuePair<string, string> variable in variables)
            {
                XmlElement entry;
                if (existing.TryGetValue(variable.Key, out entry))
                {
                    entry.SetAttribute("value", variable.Value);
                    continue;
                }
                entry = document.CreateElement("environmentVariable");
                entry.SetAttribute("name", variable.Key);
                entry.SetAttribute("value", variable.Value);
                AppendIndented(container, entry, entryIndent, IndentationOf(container));
            }
        }

        private static bool HasElementChildren(XmlElement element)
        {
            foreach (XmlNode child in element.ChildNodes)
            {
                if (child is XmlElement)
                {
                    return true;
                }
            }
            return false;
        }

        /// <summary>The whitespace before an element on its line ("" when it is not on a line of its own).</summary>
        private static string IndentationOf(XmlElement element)
        {
            XmlNode before = element.PreviousSibling;
            if (before == null || before.NodeType != XmlNodeType.Whitespace && before.NodeType != XmlNodeType.SignificantWhitespace)
            {
                return "";
            }
            string text = before.Value;
            int newline = text.LastIndexOf('\n');
            return newline < 0 ? "" : text.Substring(newline + 1);
        }

        /// <summary>Appends a child on a line of its own, the parent's closing tag on the next line.</summary>
        private static void AppendIndented(XmlElement parent, XmlElement child, string childIndent, string parentIndent)
        {
            XmlDocument document = parent.OwnerDocument;
            XmlNode last = parent.LastChild;
            if (last != null && last.NodeType == XmlNodeType.Whitespace)
            {
                parent.RemoveChild(last);
            }
            parent.AppendChild(document.CreateWhitespace("\n" + childIndent));
            parent.AppendChild(child);
            parent.AppendChild(document.CreateWhitespace("\n" + parentIndent));
        }

        /// <summary>Removes an element with the whitespace that put it on its own line.</summary>
        private static void RemoveWithIndentation(XmlElement element)
        {
            XmlNode parent = element.ParentNode;
            XmlNode before = element.PreviousSibling;
            if (before != null && before.NodeType == XmlNodeType.Whitespace)
            {
                parent.RemoveChild(before);
            }
            parent.RemoveChild(element);
        }

        private static XmlElement FindAspNetCore(XmlDocument document)
        {
            foreach (XmlNode node in document.GetElementsByTagName("aspNetCore"))
            {
                XmlElement element = node as XmlElement;
                if (element != null && element.ParentNode != null && element.ParentNode.Name == "system.webServer")
                {
                    return element;
                }
            }
            return null;
        }

        private static string Decode(byte[] bytes, string what)
        {
            int start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            try
            {
                return Utf8NoBom.GetString(bytes, start, bytes.Length - start);
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException(what + " is not UTF-8 text");
            }
        }

        private static string WriteIfChanged(string path, byte[] original, string text, string temporaryPath)
        {
            byte[] bytes = Utf8NoBom.GetBytes(text);
            if (SameBytes(original, bytes))
            {
                return "unchanged";
            }
            File.WriteAllBytes(temporaryPath, bytes);
            File.Replace(temporaryPath, path, null);
            return "changed";
        }

        private static bool SameBytes(byte[] a, byte[] b)
        {
            if (a.Length != b.Length)
            {
                return false;
            }
            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] != b[i])
                {
                    return false;
                }
            }
            return true;
        }

        private static void Merge(JsonObject target, JsonObject patch)
        {
            foreach (KeyValuePair<string, JsonNode> entry in patch.Members)
            {
                int index = target.IndexOf(entry.Key);
                if (index < 0)
                {
                    target.Members.Add(entry);
                    continue;
                }
                JsonObject existing = target.Members[index].Value as JsonObject;
                JsonObject incoming = entry.Value as JsonObject;
                if (existing != null && incoming != null)
                {
                    Merge(existing, incoming);
                }
                else
                {
                    target.Members[index] = new KeyValuePair<string, JsonNode>(target.Members[index].Key, entry.Value);
                }
            }
        }

        private static void Write(StringBuilder output, JsonNode node, int depth, string newline)
        {
            JsonObject obj = node as JsonObject;
            JsonArray array = node as JsonArray;
            JsonString str = node as JsonString;
            if (obj != null)
            {
                if (obj.Members.Count == 0)
                {
                    output.Append("{}");
                    return;
                }
                output.Append('{');
                for (int i = 0; i < obj.Members.Count; i++)
                {
                    output.Append(i == 0 ? "" : ",").Append(newline).Append(' ', (depth + 1) * 2);
                    WriteString(output, obj.Members[i].Key);
                    output.Append(": ");
                    Write(output, obj.Members[i].Value, depth + 1, newline);
                }
                output.Append(newline).Append(' ', depth * 2).Append('}');
            }
            else if (array != null)
            {
                if (array.Items.Count == 0)
                {
                    output.Append("[]");
                    return;
                }
                output.Append('[');
                for (int i = 0; i < array.Items.Count; i++)
                {
                    output.Append(i == 0 ? "" : ",").Append(newline).Append(' ', (depth + 1) * 2);
                    Write(output, array.Items[i], depth + 1, newline);
                }
                output.Append(newline).Append(' ', depth * 2).Append(']');
            }
            else if (str != null)
            {
                WriteString(output, str.Value);
            }
            else
            {
                output.Append(((JsonLiteral)node).Text);
            }
        }

        private static void WriteString(StringBuilder output, string value)
        {
            output.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': output.Append("\\\""); break;
                    case '\\': output.Append("\\\\"); break;
                    case '\n': output.Append("\\n"); break;
                    case '\r': output.Append("\\r"); break;
                    case '\t': output.Append("\\t"); break;
                    case '\b': output.Append("\\b"); break;
                    case '\f': output.Append("\\f"); break;
                    default:
                        if (c < ' ')
                        {
                            output.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            output.Append(c);
                        }
                        break;
                }
            }
            output.Append('"');
        }

        private abstract class JsonNode
        {
        }

        private sealed class JsonObject : JsonNode
        {
            public readonly List<KeyValuePair<string, JsonNode>> Members = new List<KeyValuePair<string, JsonNode>>();

            public int IndexOf(string key)
            {
                for (int i = 0; i < Members.Count; i++)
                {
                    if (string.Equals(Members[i].Key, key, StringComparison.OrdinalIgnoreCase))
                    {
                        return i;
                    }
                }
                return -1;
            }
        }

        private sealed class JsonArray : JsonNode
        {
            public readonly List<JsonNode> Items = new List<JsonNode>();
        }

        private sealed class JsonString : JsonNode
        {
            public readonly string Value;

            public JsonString(string value)
            {
                Value = value;
            }
        }

        /// <summary>A number, true, false or null, kept exactly as written.</summary>
        private sealed class JsonLiteral : JsonNode
        {
            public readonly string Text;

            public JsonLiteral(string text)
            {
                Text = text;
            }
        }

        /// <summary>A strict JSON parser (RFC 8259): no comments, no trailing commas.</summary>
        private sealed class JsonParser
        {
            private readonly string text;
            private readonly string what;
            private int position;

            public JsonParser(string text, string what)
            {
                this.text = text;
                this.what = what;
            }

            public JsonNode ParseDocument()
            {
                JsonNode value = ParseValue();
                SkipWhitespace();
                if (position < text.Length)
                {
                    throw Error("unexpected text after the end of the JSON value");
                }
                return value;
            }

            private JsonNode ParseValue()
            {
                SkipWhitespace();
                if (position >= text.Length)
                {
                    throw Error("unexpected end of the text");
                }
                char c = text[position];
                if (c == '{')
                {
                    return ParseObject();
                }
                if (c == '[')
                {
                    return ParseArray();
                }
                if (c == '"')
                {
                    return new JsonString(ParseString());
                }
                if (c == '-' || (c >= '0' && c <= '9'))
                {
                    return ParseNumber();
                }
                foreach (string literal in new string[] { "true", "false", "null" })
                {
                    if (string.CompareOrdinal(text, position, literal, 0, literal.Length) == 0)
                    {
                        position += literal.Length;
                        return new JsonLiteral(literal);
                    }
                }
                throw Error("unexpected character '" + c + "'");
            }

            private JsonObject ParseObject()
            {
                JsonObject result = new JsonObject();
                position++;
                SkipWhitespace();
                if (Peek() == '}')
                {
                    position++;
                    return result;
                }
                while (true)
                {
                    SkipWhitespace();
                    if (Peek() != '"')
                    {
                        throw Error("expected a property name in double quotes");
                    }
                    string key = ParseString();
                    SkipWhitespace();
                    Expect(':');
                    JsonNode value = ParseValue();
                    int existing = result.IndexOf(key);
                    if (existing >= 0)
                    {
                        // .NET configuration lets the last duplicate win; keep one entry with that value.
                        result.Members[existing] = new KeyValuePair<string, JsonNode>(result.Members[existing].Key, value);
                    }
                    else
                    {
                        result.Members.Add(new KeyValuePair<string, JsonNode>(key, value));
                    }
                    SkipWhitespace();
                    char next = Peek();
                    position++;
                    if (next == '}')
                    {
                        return result;
                    }
                    if (next != ',')
                    {
                        position--;
                        throw Error("expected ',' or '}'");
                    }
                }
            }

            private JsonArray ParseArray()
            {
                JsonArray result = new JsonArray();
                position++;
                SkipWhitespace();
                if (Peek() == ']')
                {
                    position++;
                    return result;
                }
                while (true)
                {
                    result.Items.Add(ParseValue());
                    SkipWhitespace();
                    char next = Peek();
                    position++;
                    if (next == ']')
                    {
                        return result;
                    }
                    if (next != ',')
                    {
                        position--;
                        throw Error("expected ',' or ']'");
                    }
                }
            }

            private string ParseString()
            {
                StringBuilder value = new StringBuilder();
                position++;
                while (true)
                {
                    if (position >= text.Length)
                    {
                        throw Error("unterminated string");
                    }
                    char c = text[position++];
                    if (c == '"')
                    {
                        return value.ToString();
                    }
                    if (c < ' ')
                    {
                        position--;
                        throw Error("control character inside a string");
                    }
                    if (c != '\\')
                    {
                        value.Append(c);
                        continue;
                    }
                    if (position >= text.Length)
                    {
                        throw Error("unterminated string");
                    }
                    char escape = text[position++];
                    switch (escape)
                    {
                        case '"': value.Append('"'); break;
                        case '\\': value.Append('\\'); break;
                        case '/': value.Append('/'); break;
                        case 'b': value.Append('\b'); break;
                        case 'f': value.Append('\f'); break;
                        case 'n': value.Append('\n'); break;
                        case 'r': value.Append('\r'); break;
                        case 't': value.Append('\t'); break;
                        case 'u':
                            int code;
                            if (position + 4 > text.Length ||
                                !int.TryParse(text.Substring(position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out code))
                            {
                                throw Error("bad \\u escape");
                            }
                            value.Append((char)code);
                            position += 4;
                            break;
                        default:
                            position--;
                            throw Error("bad escape '\\" + escape + "'");
                    }
                }
            }

            private JsonLiteral ParseNumber()
            {
                int start = position;
                if (Peek() == '-')
                {
                    position++;
                }
                int digits = SkipDigits();
                if (digits == 0)
                {
                    throw Error("bad number");
                }
                if (Peek() == '.')
                {
                    position++;
                    if (SkipDigits() == 0)
                    {
                        throw Error("bad number");
                    }
                }
                if (Peek() == 'e' || Peek() == 'E')
                {
                    position++;
                    if (Peek() == '+' || Peek() == '-')
                    {
                        position++;
                    }
                    if (SkipDigits() == 0)
                    {
                        throw Error("bad number");
                    }
                }
                return new JsonLiteral(text.Substring(start, position - start));
            }

            private int SkipDigits()
            {
                int start = position;
                while (position < text.Length && text[position] >= '0' && text[position] <= '9')
                {
                    position++;
                }
                return position - start;
            }

            private void SkipWhitespace()
            {
                while (position < text.Length && (text[position] == ' ' || text[position] == '\t' || text[position] == '\r' || text[position] == '\n'))
                {
                    position++;
                }
            }

            private char Peek()
            {
                return position < text.Length ? text[position] : '\0';
            }

            private void Expect(char c)
            {
                if (Peek() != c)
                {
                    throw Error("expected '" + c + "'");
                }
                position++;
            }

            private FormatException Error(string message)
            {
                if (position < text.Length && text[position] == '/')
                {
                    message = "comments are not supported; remove them from the file";
                }
                int line = 1;
                int column = 1;
                for (int i = 0; i < position && i < text.Length; i++)
                {
                    if (text[i] == '\n')
                    {
                        line++;
                        column = 1;
                    }
                    else
                    {
                        column++;
                    }
                }
                return new FormatException(
                    what + " is not valid JSON at line " + line.ToString(CultureInfo.InvariantCulture) +
                    ", column " + column.ToString(CultureInfo.InvariantCulture) + ": " + message);
            }
        }
    }
}
