// Entry point of the agent console.

import "rrweb/dist/style.css";
import "./styles.css";
import { startApp } from "./app";

startApp(document.getElementById("app")!);
