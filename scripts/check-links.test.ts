import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  checkRepository,
  citedDocs,
  findProblems,
  githubSlug,
  headingAnchors,
  outsideNoteMentions,
  relativeLinks,
} from "./check-links.ts";

// Fixture text is assembled so that this file cites no missing doc and names no outside note
// itself: the check runs over it too.
const cite = (path: string) => `docs/${path}`;
const notes = {
  shared: ["..", "shared", "reference", "x.md"].join("/"),
  protocols: ["protocols", "md"].join("."),
  design: ["DESIGN", "md"].join("."),
  style: ["STYLE", "md"].join("."),
  k8s: ["k8s-testing", "md"].join("."),
};

/** An `exists` that knows the given files and every directory above them. */
function existing(...paths: string[]): (path: string) => boolean {
  const known = new Set(paths);
  for (const path of paths) {
    for (let dir = path; dir.includes("/"); ) {
      dir = dir.slice(0, dir.lastIndexOf("/"));
      known.add(dir);
    }
  }
  return (path) => known.has(path);
}

describe("relativeLinks", () => {
  it.each([
    ["an inline link", "See [the guide](guide.md).", ["guide.md"]],
    ["an image", "![diagram](img/flow.png)", ["img/flow.png"]],
    ["a link with a title", '[x](a.md "A title")', ["a.md"]],
    ["a target in angle brackets", "[x](<with space.md>)", ["with space.md"]],
    ["a link into another file's heading", "[x](b.md#a-section)", ["b.md#a-section"]],
    ["a reference definition", "[guide]: ../guide.md", ["../guide.md"]],
    ["an HTML link", '<a href="guide/x.md">x</a>', ["guide/x.md"]],
    ["two links on one line", "[a](a.md) and [b](b.md)", ["a.md", "b.md"]],
    ["brackets inside the text", "[see [1]](one.md)", ["one.md"]],
  ])("finds %s", (_, markdown, targets) => {
    expect(relativeLinks(markdown).map((link) => link.target)).toEqual(targets);
  });

  it.each([
    ["https", "[AWS](https://docs.aws.amazon.com/bedrock/)"],
    ["http", "[x](http://example.com/a.md)"],
    ["mailto", "[mail](mailto:team@example.com)"],
    ["a same-page anchor", "[below](#details)"],
    ["a link in a code span", "Write `[x](missing.md)` for a link."],
    ["a link in a fenced block", "```md\n[x](missing.md)\n```"],
    ["a link in a tilde fence", "~~~\n[x](missing.md)\n~~~"],
  ])("leaves out %s", (_, markdown) => {
    expect(relativeLinks(markdown)).toEqual([]);
  });

  it("numbers lines from 1, counting the lines of fenced blocks", () => {
    const markdown = "# T\n\n```\ncode\n```\n[a](a.md)\n";
    expect(relativeLinks(markdown)).toEqual([{ target: "a.md", line: 6 }]);
  });
});

describe("githubSlug", () => {
  it.each([
    ["Converse request", "converse-request"],
    ["1. Authentication", "1-authentication"],
    ["CPU per request, now", "cpu-per-request-now"],
    ["The kind e2e scenario (`test/e2e/run.sh`)", "the-kind-e2e-scenario-teste2erunsh"],
    ["HTTP/1.1 and HTTP/2 on one port", "http11-and-http2-on-one-port"],
    ["What a bare apiserver + etcd does *not* do", "what-a-bare-apiserver--etcd-does-not-do"],
    ["See [the guide](guide.md)", "see-the-guide"],
    ["snake_case stays", "snake_case-stays"],
    ["Ünïcode letters", "ünïcode-letters"],
  ])("%s → #%s", (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });
});

describe("headingAnchors", () => {
  it("numbers repeated headings and ignores headings in code", () => {
    const markdown = [
      "# Title",
      "## Errors",
      "```sh",
      "# not a heading",
      "```",
      "## Errors",
      '<a id="custom-anchor"></a>',
      "### Closed ###",
    ].join("\n");
    expect([...headingAnchors(markdown)]).toEqual([
      "title",
      "errors",
      "errors-1",
      "custom-anchor",
      "closed",
    ]);
  });
});

describe("citedDocs and outsideNoteMentions", () => {
  it("finds docs paths that start a path, with their anchors", () => {
    const text = [
      `// see ${cite("wire-formats.md#sigv4")}`,
      `# (${cite("examples/tenant.yaml")}, ${cite("a.json")})`,
      "https://kubernetes.io/docs/concepts/overview.md is a URL",
      `services/x/${cite("own.md")} is another directory's`,
    ].join("\n");
    expect(citedDocs(text)).toEqual([
      { target: cite("wire-formats.md#sigv4"), line: 1 },
      { target: cite("examples/tenant.yaml"), line: 2 },
      { target: cite("a.json"), line: 2 },
    ]);
  });

  it("finds every mention of the notes outside the repository", () => {
    const text = `a ${notes.shared}\nb ${notes.protocols} §2 and ${notes.style}\nc ${notes.k8s}`;
    expect(outsideNoteMentions(text).map((m) => [m.line, m.target])).toEqual([
      [1, ["..", "shared"].join("/")],
      [2, notes.protocols],
      [2, notes.style],
      [3, notes.k8s],
    ]);
  });

  it("does not mistake names that merely end alike", () => {
    const alike = ["docs/code-style.md", `wire-${notes.protocols}`, `NOT-${notes.design}x`];
    expect(outsideNoteMentions(alike.join(", "))).toEqual([]);
  });
});

describe("findProblems", () => {
  it.each([
    {
      name: "a relative link to a file that is not there",
      files: { "guide/a.md": "Read [b](b.md)." },
      exists: existing("guide/a.md"),
      problems: ["guide/a.md:1: link b.md: no such file or directory"],
    },
    {
      name: "a link that leaves the repository",
      files: { "guide/a.md": `x\n[notes](../../outside/notes.md)` },
      exists: existing("guide/a.md"),
      problems: ["guide/a.md:2: link ../../outside/notes.md leaves the repository"],
    },
    {
      name: "a link to a heading the other file does not have",
      files: { "guide/a.md": "[b](b.md#gone)", "guide/b.md": "# B\n## Here" },
      exists: existing("guide/a.md", "guide/b.md"),
      problems: ["guide/a.md:1: guide/b.md has no heading #gone"],
    },
    {
      name: "code that cites a doc that is not there",
      files: { "scripts/x.sh": `#!/bin/sh\n# how: ${cite("gone.md")}` },
      exists: existing("scripts/x.sh"),
      problems: [`scripts/x.sh:2: cites ${cite("gone.md")}, which does not exist`],
    },
    {
      name: "code that cites a heading the doc does not have",
      files: { "src/a.ts": `// ${cite("b.md#old-section")}`, [cite("b.md")]: "# B" },
      exists: existing("src/a.ts", cite("b.md")),
      problems: [`src/a.ts:1: ${cite("b.md")} has no heading #old-section`],
    },
    {
      name: "a mention of the notes outside the repository",
      files: { "src/a.ts": `/** As ${notes.design} §10 says. */` },
      exists: existing("src/a.ts"),
      problems: [
        `src/a.ts:1: mentions ${notes.design}, which is not in the repository: ` +
          "cite the public spec or docs/",
      ],
    },
  ])("reports $name", ({ files, exists, problems }) => {
    expect(findProblems(new Map(Object.entries(files)), exists)).toEqual(problems);
  });

  it("accepts links to files, directories and headings, external links and citations", () => {
    const files = {
      "README.md": [
        `[guide](${cite("guide.md#second-part")}), [examples](${cite("examples/")})`,
        `[again](${cite("guide.md#part-1")}) [root](/README.md) [web](https://example.com/x.md)`,
        "[here](#top)",
      ].join("\n"),
      [cite("guide.md")]: "# Guide\n## Part\n## Part\n## Second part\n[up](../README.md)",
      [cite("examples/tenant.yaml")]: "kind: Tenant",
      "src/a.ts": `// ${cite("guide.md#second-part")} and ${cite("examples/tenant.yaml")}`,
      "package-lock.json": `{"note": "${notes.shared} ${cite("gone.md")}"}`,
    };
    const exists = existing(...Object.keys(files));
    expect(findProblems(new Map(Object.entries(files)), exists)).toEqual([]);
  });
});

describe("the repository", () => {
  it("has no broken link, no missing cited doc and no mention of notes outside it", () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    expect(checkRepository(root).problems).toEqual([]);
  });
});
