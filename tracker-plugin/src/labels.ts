/**
 * Every text the tracker shows in the page (the consent prompts, the grant indicator, the agent's
 * cursor, the call window and its messages), in the user's language.
 *
 * A site picks a built-in locale with `start({ locale })` and replaces single strings with
 * `start({ labels })`; both are resolved once, at start, into one {@link Labels}. A text that
 * names someone or something holds a `{placeholder}` ({@link fill}): a translation may put it
 * anywhere in the sentence. Only texts the user reads are here: what the tracker tells agents
 * (refusal reasons) and the console stays English, the agent console's language.
 */

import { log } from "./log";

export interface Labels {
  /** Prompt titles; `{agent}` is the agent's name. */
  askControl: string;
  askAnnotate: string;
  askVoiceCall: string;
  askVideoCall: string;
  askRecord: string;
  askCanvas: string;
  askView: string;
  /** What each prompt explains under its title. */
  detailControl: string;
  detailAnnotate: string;
  detailVoiceCall: string;
  detailVideoCall: string;
  detailRecord: string;
  detailCanvas: string;
  detailView: string;
  accept: string;
  decline: string;
  /** Who asks when the page does not know (the canvas prompt). */
  someAgent: string;
  /** The cursor's label of an agent whose name the page does not know. */
  agent: string;
  /** The indicator's line per grant; `{agent}` is the agent's name. */
  grantControl: string;
  grantAnnotate: string;
  grantCall: string;
  grantRecord: string;
  /** An agent the user let see the page (`view: "ask"`). */
  grantView: string;
  /** The `view: "notify"` badge; `{agents}` is the names, joined with `watchingAnd` before the last. */
  watching: string;
  watchingAnd: string;
  stop: string;
  /** The Stop button's accessible name; `{grant}` is the grant's line. */
  stopGrant: string;
  /** The call window. */
  call: string;
  mute: string;
  unmute: string;
  cameraOff: string;
  cameraOn: string;
  joinHere: string;
  hangUp: string;
  close: string;
  stopRecording: string;
  recording: string;
  /** `{agents}`: the names of the agents recording, comma-separated. */
  recordedBy: string;
  you: string;
  callMoved: string;
  callDisconnected: string;
  callNotHere: string;
  waitingForMicrophone: string;
  reconnecting: string;
  callFailed: string;
  connecting: string;
  /** Devices, for the messages below. */
  microphone: string;
  camera: string;
  microphoneAndCamera: string;
  /** Why a device could not be used; `{device}` is one of the three above. */
  deviceNeedsHttps: string;
  deviceNotAllowed: string;
  deviceNotFound: string;
  deviceBusy: string;
  deviceFailed: string;
  /** The built-in "Get help" widget (`helpButton`); `{time}` is the code's expiry, in the user's locale. */
  helpButton: string;
  helpAsking: string;
  helpIntro: string;
  helpValidUntil: string;
  helpExpired: string;
  helpFailed: string;
  helpNewCode: string;
}

export type LabelKey = keyof Labels;

const en: Labels = {
  askControl: "{agent} asks to control this page",
  askAnnotate: "{agent} asks to draw on this page",
  askVoiceCall: "{agent} asks for a voice call",
  askVideoCall: "{agent} asks for a video call",
  askRecord: "{agent} asks to record this call",
  askCanvas: "{agent} asks to see this page's drawings and animations",
  askView: "{agent} asks to see this page",
  detailControl:
    "They will be able to click, scroll and type here, but not into password fields. " +
    "You can stop it at any time with the Stop button at the top of the page.",
  detailAnnotate:
    "They will be able to draw on this page to point things out. " +
    "You can stop it at any time with the Stop button at the top of the page.",
  detailVoiceCall:
    "If you accept, your browser will ask to use your microphone. " +
    "You can mute or hang up at any time in the call window.",
  detailVideoCall:
    "If you accept, your browser will ask to use your microphone and camera. " +
    "You can mute or hang up at any time in the call window.",
  detailRecord: "The call's sound and video will be saved. You can stop the recording at any time in the call window.",
  detailCanvas:
    "Charts, maps and other drawn parts of the page (canvases) are not recorded. If you accept, " +
    "the agents who ask see them live as video while they watch.",
  detailView:
    "Nothing of this page is shown to them unless you accept. If you do, they see this page and what " +
    "you do on it (not what you type into fields) until you press Stop.",
  accept: "Accept",
  decline: "Decline",
  someAgent: "An agent",
  agent: "Agent",
  grantControl: "{agent} is controlling this page",
  grantAnnotate: "{agent} can draw on this page",
  grantCall: "{agent} is in a call with you",
  grantRecord: "{agent} is recording the call",
  grantView: "{agent} can see this page",
  watching: "{agents} can see this page",
  watchingAnd: " and ",
  stop: "Stop",
  stopGrant: "Stop: {grant}",
  call: "Call",
  mute: "Mute",
  unmute: "Unmute",
  cameraOff: "Camera off",
  cameraOn: "Camera on",
  joinHere: "Join here",
  hangUp: "Hang up",
  close: "Close",
  stopRecording: "Stop recording",
  recording: "● Recording",
  recordedBy: "Recorded by {agents}",
  you: "You",
  callMoved: "The call moved to another tab.",
  callDisconnected: "The call was disconnected in this tab.",
  callNotHere: "The call is not connected in this tab.",
  waitingForMicrophone: "Waiting for your microphone…",
  reconnecting: "Reconnecting…",
  callFailed: "The call's connection failed.",
  connecting: "Connecting…",
  microphone: "microphone",
  camera: "camera",
  microphoneAndCamera: "microphone and camera",
  deviceNeedsHttps: "This page cannot use your {device}: the browser allows it only on secure (https) pages.",
  deviceNotAllowed: "Your {device} could not be used: access was not allowed. You can allow it in the browser's address bar.",
  deviceNotFound: "No {device} was found.",
  deviceBusy: "Your {device} could not be started: another program may be using it.",
  deviceFailed: "Your {device} could not be used.",
  helpButton: "Get help",
  helpAsking: "Getting your code…",
  helpIntro: "Read this code to the person helping you:",
  helpValidUntil: "Valid until {time}",
  helpExpired: "This code has expired.",
  helpFailed: "No code could be given right now. Please try again.",
  helpNewCode: "Get a new code",
};

const de: Labels = {
  askControl: "{agent} möchte diese Seite steuern",
  askAnnotate: "{agent} möchte auf dieser Seite zeichnen",
  askVoiceCall: "{agent} möchte einen Sprachanruf starten",
  askVideoCall: "{agent} möchte einen Videoanruf starten",
  askRecord: "{agent} möchte diesen Anruf aufzeichnen",
  askCanvas: "{agent} möchte die Grafiken und Animationen dieser Seite sehen",
  askView: "{agent} möchte diese Seite sehen",
  detailControl:
    "Die Person kann hier klicken, scrollen und tippen, aber nicht in Passwortfelder. " +
    "Sie können das jederzeit mit der Schaltfläche „Beenden“ oben auf der Seite beenden.",
  detailAnnotate:
    "Die Person kann auf dieser Seite zeichnen, um Ihnen etwas zu zeigen. " +
    "Sie können das jederzeit mit der Schaltfläche „Beenden“ oben auf der Seite beenden.",
  detailVoiceCall:
    "Wenn Sie annehmen, fragt Ihr Browser nach Ihrem Mikrofon. " +
    "Sie können jederzeit im Anruffenster stummschalten oder auflegen.",
  detailVideoCall:
    "Wenn Sie annehmen, fragt Ihr Browser nach Ihrem Mikrofon und Ihrer Kamera. " +
    "Sie können jederzeit im Anruffenster stummschalten oder auflegen.",
  detailRecord:
    "Ton und Bild des Anrufs werden gespeichert. Sie können die Aufzeichnung jederzeit im Anruffenster beenden.",
  detailCanvas:
    "Diagramme, Karten und andere gezeichnete Teile der Seite (Canvas) werden nicht aufgezeichnet. Wenn Sie " +
    "annehmen, sehen die anfragenden Mitarbeitenden sie live als Video.",
  detailView:
    "Ohne Ihre Zustimmung wird nichts von dieser Seite gezeigt. Wenn Sie zustimmen, sieht diese Person " +
    "die Seite und was Sie darauf tun (nicht, was Sie in Felder tippen), bis Sie „Beenden“ drücken.",
  accept: "Annehmen",
  decline: "Ablehnen",
  someAgent: "Ein Mitarbeiter",
  agent: "Mitarbeiter",
  grantControl: "{agent} steuert diese Seite",
  grantAnnotate: "{agent} kann auf dieser Seite zeichnen",
  grantCall: "{agent} ist im Anruf mit Ihnen",
  grantRecord: "{agent} zeichnet den Anruf auf",
  grantView: "{agent} kann diese Seite sehen",
  watching: "Diese Seite ist sichtbar für {agents}",
  watchingAnd: " und ",
  stop: "Beenden",
  stopGrant: "Beenden: {grant}",
  call: "Anruf",
  mute: "Stumm",
  unmute: "Ton an",
  cameraOff: "Kamera aus",
  cameraOn: "Kamera an",
  joinHere: "Hier teilnehmen",
  hangUp: "Auflegen",
  close: "Schließen",
  stopRecording: "Aufzeichnung beenden",
  recording: "● Aufzeichnung",
  recordedBy: "Aufgezeichnet von {agents}",
  you: "Sie",
  callMoved: "Der Anruf wurde in einen anderen Tab verschoben.",
  callDisconnected: "Der Anruf wurde in diesem Tab getrennt.",
  callNotHere: "Der Anruf ist in diesem Tab nicht verbunden.",
  waitingForMicrophone: "Warte auf Ihr Mikrofon…",
  reconnecting: "Verbindung wird wiederhergestellt…",
  callFailed: "Die Verbindung des Anrufs ist fehlgeschlagen.",
  connecting: "Verbinde…",
  microphone: "Mikrofon",
  camera: "Kamera",
  microphoneAndCamera: "Mikrofon und Kamera",
  deviceNeedsHttps: "Diese Seite kann Ihr Gerät ({device}) nicht nutzen: der Browser erlaubt es nur auf sicheren (https) Seiten.",
  deviceNotAllowed: "Ihr Gerät ({device}) konnte nicht genutzt werden: der Zugriff wurde nicht erlaubt. Sie können ihn in der Adressleiste des Browsers erlauben.",
  deviceNotFound: "Kein Gerät gefunden ({device}).",
  deviceBusy: "Ihr Gerät ({device}) konnte nicht gestartet werden: vielleicht nutzt es ein anderes Programm.",
  deviceFailed: "Ihr Gerät ({device}) konnte nicht genutzt werden.",
  helpButton: "Hilfe holen",
  helpAsking: "Ihr Code wird geholt…",
  helpIntro: "Lesen Sie diesen Code der Person vor, die Ihnen hilft:",
  helpValidUntil: "Gültig bis {time}",
  helpExpired: "Dieser Code ist abgelaufen.",
  helpFailed: "Gerade kann kein Code vergeben werden. Bitte versuchen Sie es erneut.",
  helpNewCode: "Neuen Code holen",
};

const fr: Labels = {
  askControl: "{agent} demande à contrôler cette page",
  askAnnotate: "{agent} demande à dessiner sur cette page",
  askVoiceCall: "{agent} demande un appel vocal",
  askVideoCall: "{agent} demande un appel vidéo",
  askRecord: "{agent} demande à enregistrer cet appel",
  askCanvas: "{agent} demande à voir les dessins et animations de cette page",
  askView: "{agent} demande à voir cette page",
  detailControl:
    "Cette personne pourra cliquer, faire défiler et saisir du texte ici, mais pas dans les champs de mot de passe. " +
    "Vous pouvez arrêter à tout moment avec le bouton Arrêter en haut de la page.",
  detailAnnotate:
    "Cette personne pourra dessiner sur cette page pour vous montrer quelque chose. " +
    "Vous pouvez arrêter à tout moment avec le bouton Arrêter en haut de la page.",
  detailVoiceCall:
    "Si vous acceptez, votre navigateur demandera l'accès à votre micro. " +
    "Vous pouvez couper le micro ou raccrocher à tout moment dans la fenêtre d'appel.",
  detailVideoCall:
    "Si vous acceptez, votre navigateur demandera l'accès à votre micro et à votre caméra. " +
    "Vous pouvez couper le micro ou raccrocher à tout moment dans la fenêtre d'appel.",
  detailRecord:
    "Le son et la vidéo de l'appel seront enregistrés. Vous pouvez arrêter l'enregistrement à tout moment dans la fenêtre d'appel.",
  detailCanvas:
    "Les graphiques, cartes et autres parties dessinées de la page (canvas) ne sont pas enregistrés. Si vous " +
    "acceptez, les agents qui le demandent les voient en direct en vidéo.",
  detailView:
    "Rien de cette page ne lui est montré sans votre accord. Si vous acceptez, cette personne voit la page " +
    "et ce que vous y faites (pas ce que vous tapez dans les champs) jusqu'à ce que vous appuyiez sur « Arrêter ».",
  accept: "Accepter",
  decline: "Refuser",
  someAgent: "Un agent",
  agent: "Agent",
  grantControl: "{agent} contrôle cette page",
  grantAnnotate: "{agent} peut dessiner sur cette page",
  grantCall: "{agent} est en appel avec vous",
  grantRecord: "{agent} enregistre l'appel",
  grantView: "{agent} peut voir cette page",
  watching: "Cette page est visible par {agents}",
  watchingAnd: " et ",
  stop: "Arrêter",
  stopGrant: "Arrêter : {grant}",
  call: "Appel",
  mute: "Couper le micro",
  unmute: "Rétablir le micro",
  cameraOff: "Couper la caméra",
  cameraOn: "Activer la caméra",
  joinHere: "Rejoindre ici",
  hangUp: "Raccrocher",
  close: "Fermer",
  stopRecording: "Arrêter l'enregistrement",
  recording: "● Enregistrement",
  recordedBy: "Enregistré par {agents}",
  you: "Vous",
  callMoved: "L'appel est passé dans un autre onglet.",
  callDisconnected: "L'appel a été déconnecté dans cet onglet.",
  callNotHere: "L'appel n'est pas connecté dans cet onglet.",
  waitingForMicrophone: "En attente de votre micro…",
  reconnecting: "Reconnexion…",
  callFailed: "La connexion de l'appel a échoué.",
  connecting: "Connexion…",
  microphone: "micro",
  camera: "caméra",
  microphoneAndCamera: "micro et caméra",
  deviceNeedsHttps: "Cette page ne peut pas utiliser votre {device} : le navigateur ne l'autorise que sur les pages sécurisées (https).",
  deviceNotAllowed: "Votre {device} n'a pas pu être utilisé : l'accès n'a pas été autorisé. Vous pouvez l'autoriser dans la barre d'adresse du navigateur.",
  deviceNotFound: "Aucun {device} trouvé.",
  deviceBusy: "Votre {device} n'a pas pu démarrer : un autre programme l'utilise peut-être.",
  deviceFailed: "Votre {device} n'a pas pu être utilisé.",
  helpButton: "Obtenir de l'aide",
  helpAsking: "Obtention de votre code…",
  helpIntro: "Lisez ce code à la personne qui vous aide :",
  helpValidUntil: "Valable jusqu'à {time}",
  helpExpired: "Ce code a expiré.",
  helpFailed: "Aucun code ne peut être donné pour le moment. Veuillez réessayer.",
  helpNewCode: "Obtenir un nouveau code",
};

const es: Labels = {
  askControl: "{agent} pide controlar esta página",
  askAnnotate: "{agent} pide dibujar en esta página",
  askVoiceCall: "{agent} pide una llamada de voz",
  askVideoCall: "{agent} pide una videollamada",
  askRecord: "{agent} pide grabar esta llamada",
  askCanvas: "{agent} pide ver los dibujos y animaciones de esta página",
  askView: "{agent} pide ver esta página",
  detailControl:
    "Podrá hacer clic, desplazarse y escribir aquí, pero no en campos de contraseña. " +
    "Puede detenerlo en cualquier momento con el botón Detener en la parte superior de la página.",
  detailAnnotate:
    "Podrá dibujar en esta página para señalarle cosas. " +
    "Puede detenerlo en cualquier momento con el botón Detener en la parte superior de la página.",
  detailVoiceCall:
    "Si acepta, su navegador le pedirá usar su micrófono. " +
    "Puede silenciar o colgar en cualquier momento en la ventana de la llamada.",
  detailVideoCall:
    "Si acepta, su navegador le pedirá usar su micrófono y su cámara. " +
    "Puede silenciar o colgar en cualquier momento en la ventana de la llamada.",
  detailRecord:
    "Se guardarán el sonido y el vídeo de la llamada. Puede detener la grabación en cualquier momento en la ventana de la llamada.",
  detailCanvas:
    "Los gráficos, mapas y otras partes dibujadas de la página (canvas) no se graban. Si acepta, " +
    "los agentes que lo piden los ven en directo como vídeo.",
  detailView:
    "No se le muestra nada de esta página sin su permiso. Si acepta, verá esta página y lo que hace en " +
    "ella (no lo que escribe en los campos) hasta que pulse Detener.",
  accept: "Aceptar",
  decline: "Rechazar",
  someAgent: "Un agente",
  agent: "Agente",
  grantControl: "{agent} está controlando esta página",
  grantAnnotate: "{agent} puede dibujar en esta página",
  grantCall: "{agent} está en una llamada con usted",
  grantRecord: "{agent} está grabando la llamada",
  grantView: "{agent} puede ver esta página",
  watching: "Esta página es visible para {agents}",
  watchingAnd: " y ",
  stop: "Detener",
  stopGrant: "Detener: {grant}",
  call: "Llamada",
  mute: "Silenciar",
  unmute: "Activar sonido",
  cameraOff: "Apagar cámara",
  cameraOn: "Encender cámara",
  joinHere: "Unirse aquí",
  hangUp: "Colgar",
  close: "Cerrar",
  stopRecording: "Detener grabación",
  recording: "● Grabando",
  recordedBy: "Grabado por {agents}",
  you: "Usted",
  callMoved: "La llamada pasó a otra pestaña.",
  callDisconnected: "La llamada se desconectó en esta pestaña.",
  callNotHere: "La llamada no está conectada en esta pestaña.",
  waitingForMicrophone: "Esperando su micrófono…",
  reconnecting: "Reconectando…",
  callFailed: "La conexión de la llamada falló.",
  connecting: "Conectando…",
  microphone: "micrófono",
  camera: "cámara",
  microphoneAndCamera: "micrófono y cámara",
  deviceNeedsHttps: "Esta página no puede usar su {device}: el navegador solo lo permite en páginas seguras (https).",
  deviceNotAllowed: "No se pudo usar su {device}: no se permitió el acceso. Puede permitirlo en la barra de direcciones del navegador.",
  deviceNotFound: "No se encontró ningún {device}.",
  deviceBusy: "No se pudo iniciar su {device}: puede que otro programa lo esté usando.",
  deviceFailed: "No se pudo usar su {device}.",
  helpButton: "Pedir ayuda",
  helpAsking: "Obteniendo su código…",
  helpIntro: "Lea este código a la persona que le ayuda:",
  helpValidUntil: "Válido hasta las {time}",
  helpExpired: "Este código ha caducado.",
  helpFailed: "No se puede dar un código ahora. Inténtelo de nuevo.",
  helpNewCode: "Obtener un código nuevo",
};

/** The built-in locales, by language code. */
export const LOCALES: Readonly<Record<string, Labels>> = { en, de, fr, es };

/** The English texts, the tracker's default. */
export const ENGLISH: Labels = en;

/**
 * The texts for `locale` (a built-in language code, or a BCP 47 tag such as `de-AT` whose
 * language is built in; `"auto"` takes the page's `<html lang>`, else the browser's language)
 * with `overrides` on top. An unknown locale is English; an override that is not a string or
 * names no text is left out, with a warning.
 */
export function resolveLabels(locale?: string, overrides?: Partial<Labels>, doc?: Document): Labels {
  const wanted = locale === "auto" ? pageLanguage(doc) : (locale ?? "en");
  const language = wanted.toLowerCase().split(/[-_]/)[0] ?? "en";
  const base = LOCALES[language];
  if (base === undefined && locale !== "auto") log.warn(`no built-in texts for locale "${wanted}"; using English`);
  const labels: Labels = { ...(base ?? en) };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!(key in en) || typeof value !== "string") {
      log.warn(`ignoring label "${key}": not a text the tracker shows, or not a string`);
      continue;
    }
    labels[key as LabelKey] = value;
  }
  return labels;
}

function pageLanguage(doc: Document | undefined): string {
  const lang = doc?.documentElement.lang;
  if (lang !== undefined && lang !== "") return lang;
  return typeof navigator === "undefined" ? "en" : navigator.language || "en";
}

/** `template` with each `{name}` replaced by `values[name]` (left as is when there is none). */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}
