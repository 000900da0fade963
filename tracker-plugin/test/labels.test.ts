// Texts the page shows: built-in locales, the site's overrides, and that the UI uses them.
import { afterEach, describe, expect, it } from "vitest";

import { ENGLISH, type LabelKey, LOCALES, fill, resolveLabels } from "../src/labels";
import { alice, find, setupSignals } from "./page";

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

describe("labels", () => {
  afterEach(() => {
    document.documentElement.lang = "";
  });

  it("has every text in every built-in locale, with the same placeholders as English", () => {
    expect(Object.keys(LOCALES).sort()).toEqual(["de", "en", "es", "fr"]);
    for (const [locale, labels] of Object.entries(LOCALES)) {
      for (const key of Object.keys(ENGLISH) as LabelKey[]) {
        expect(labels[key], `${locale}.${key}`).toMatch(/\S/);
        expect(placeholders(labels[key]), `${locale}.${key}`).toEqual(placeholders(ENGLISH[key]));
      }
    }
  });

  it("picks a locale by language, from the page's lang with auto, and falls back to English", () => {
    expect(resolveLabels("de").accept).toBe("Annehmen");
    expect(resolveLabels("fr-CA").accept).toBe("Accepter");
    expect(resolveLabels("ES").decline).toBe("Rechazar");
    expect(resolveLabels("xx").accept).toBe("Accept");
    expect(resolveLabels().accept).toBe("Accept");
    document.documentElement.lang = "de-AT";
    expect(resolveLabels("auto", undefined, document).stop).toBe("Beenden");
  });

  it("takes the site's overrides on top of the locale, and ignores what is no text of the tracker", () => {
    const labels = resolveLabels("de", {
      accept: "Ja, gerne",
      askControl: "{agent} möchte helfen",
      nonsense: "x",
      decline: 3,
    } as never);
    expect(labels.accept).toBe("Ja, gerne");
    expect(labels.decline).toBe("Ablehnen");
    expect(fill(labels.askControl, { agent: "Alice" })).toBe("Alice möchte helfen");
    expect("nonsense" in labels).toBe(false);
  });

  it("is what the prompt and the indicator show", () => {
    const t = setupSignals({ labels: resolveLabels("es", { stop: "Parar" }) });
    t.receive({ type: "consent_request", request_id: "r-1", kind: "annotate", agent: alice });
    const prompt = find("consent-prompt")!;
    expect(prompt.textContent).toContain("Alice pide dibujar en esta página");
    expect(find("consent-accept")!.textContent).toBe("Aceptar");
    t.grant({ kind: "control", agent: alice });
    expect(find("grant-indicator")!.textContent).toContain("Alice está controlando esta página");
    expect(find("grant-stop")!.textContent).toBe("Parar");
    expect(find("grant-stop")!.getAttribute("aria-label")).toBe("Detener: Alice está controlando esta página");
    t.signals.stop();
  });
});
