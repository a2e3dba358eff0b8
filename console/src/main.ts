import { html, render } from 'htm/preact';
import { App } from './app';
import type { Settings } from './settings';

const element = document.getElementById('console-settings');
const settings = JSON.parse(element?.textContent ?? '{}') as Settings;
const root = document.getElementById('app');
if (root !== null) render(html`<${App} settings=${settings} />`, root);
