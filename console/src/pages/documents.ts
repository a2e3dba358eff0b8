import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient, Chunk, DocumentSummary } from '../api';
import { leaveSeed } from '../seed';
import { bytes, ErrorBox, hrefOf, Status, useAction, useLoadOnView } from '../ui';

const PAGE = 25;
const CHUNK_PAGE = 20;

/** A bot's documents, a page at a time; each one's chunks on request; deletion after typing its name. */
export function DocumentsPage({ api, botId }: { api: ApiClient; botId: string }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [deleting, setDeleting] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const cursor = cursors[cursors.length - 1];
  const page = useLoadOnView(
    () => api.listDocuments(botId, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }),
    [cursor],
  );
  // Deleted here: BotDocuments follows through the stream a moment later, so a reload could still list them.
  const [gone, setGone] = useState<ReadonlySet<string>>(new Set());
  const documents = (page.data?.documents ?? []).filter((doc) => !gone.has(doc.filename));
  const next = page.data?.next_cursor;
  const deleted = (filename: string, chunks: number) => {
    setDeleting(undefined);
    setOpen(undefined);
    setGone(new Set([...gone, filename]));
    setNotice(
      `Deleted ${filename} (${chunks} chunks). The bot's counts follow as the stream applies it (Overview, Refresh counts).`,
    );
  };
  return html`
    <h2 tabindex="-1">Documents of ${botId}</h2>
    <${Status} loading=${page.loading} />
    <${ErrorBox} error=${page.error} />
    ${notice === undefined ? null : html`<p class="ok" role="status">${notice}</p>`}
    ${page.data !== undefined && documents.length === 0 ? html`<p>This bot has no documents.</p>` : null}
    ${
      documents.length > 0
        ? html`<div class="scroll"><table>
            <caption class="sr-only">Documents</caption>
            <thead><tr><th scope="col">Filename</th><th scope="col">Chunks</th><th scope="col">Size</th>
              <th scope="col">Updated</th><th scope="col">Actions</th></tr></thead>
            <tbody>${documents.map(
              (doc) => html`<${DocumentRow} key=${doc.filename} doc=${doc} open=${open === doc.filename}
                onToggle=${() => setOpen(open === doc.filename ? undefined : doc.filename)}
                onDelete=${() => setDeleting(doc.filename)} />
                ${open === doc.filename ? html`<tr><td colspan="5"><${Chunks} api=${api} botId=${botId} filename=${doc.filename} /></td></tr>` : null}`,
            )}</tbody>
          </table></div>`
        : null
    }
    <div class="row gap-top">
      ${cursors.length > 1 ? html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>` : null}
      ${next !== undefined ? html`<button type="button" onClick=${() => setCursors([...cursors, next])}>Next page</button>` : null}
    </div>
    ${
      deleting === undefined
        ? null
        : html`<${ConfirmDelete} api=${api} botId=${botId} filename=${deleting}
            onCancel=${() => setDeleting(undefined)} onDeleted=${deleted} />`
    }
  `;
}

function DocumentRow(props: {
  doc: DocumentSummary;
  open: boolean;
  onToggle: () => void;
  onDelete: () => void;
}) {
  const { doc } = props;
  return html`<tr data-document=${doc.filename}>
    <td>${doc.filename}</td><td>${doc.chunk_count}</td><td>${bytes(doc.file_size)}</td><td>${doc.updated_at}</td>
    <td><div class="row">
      <button type="button" aria-expanded=${props.open} onClick=${props.onToggle}
        aria-label=${`${props.open ? 'Hide' : 'Show'} chunks of ${doc.filename}`}>${props.open ? 'Hide chunks' : 'Show chunks'}</button>
      <button type="button" class="danger" onClick=${props.onDelete} aria-label=${`Delete ${doc.filename}…`}>Delete…</button>
    </div></td>
  </tr>`;
}

/** A document's chunks with text, metadata and chunk index, a page at a time. */
function Chunks({ api, botId, filename }: { api: ApiClient; botId: string; filename: string }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoadOnView(
    () =>
      api.listChunks(botId, {
        filename,
        limit: CHUNK_PAGE,
        with_vectors: true,
        ...(cursor === undefined ? {} : { cursor }),
      }),
    [cursor],
  );
  const next = page.data?.next_cursor;
  return html`<section aria-label=${`Chunks of ${filename}`}>
    <${Status} loading=${page.loading} />
    <${ErrorBox} error=${page.error} />
    ${page.data === undefined ? null : html`<p class="muted">${page.data.total} chunks</p>`}
    ${(page.data?.chunks ?? []).map((chunk) => html`<${ChunkView} key=${chunk.chunk_id} botId=${botId} chunk=${chunk} filename=${filename} />`)}
    <div class="row">
      ${cursors.length > 1 ? html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous chunks</button>` : null}
      ${next !== undefined ? html`<button type="button" onClick=${() => setCursors([...cursors, next])}>Next chunks</button>` : null}
    </div>
  </section>`;
}

function ChunkView({ botId, chunk, filename }: { botId: string; chunk: Chunk; filename: string }) {
  const moreLikeThis = () => {
    if (chunk.vector === undefined) return;
    leaveSeed({ vector: chunk.vector, label: `${filename} #${chunk.chunk_index}` });
    location.hash = hrefOf('bots', botId, 'search');
  };
  return html`<article class="hit" data-chunk=${chunk.chunk_id}>
    <p><strong>#${chunk.chunk_index}</strong> <code class="muted">${chunk.chunk_id}</code></p>
    <pre>${chunk.text}</pre>
    <details><summary>Metadata</summary><pre>${JSON.stringify(chunk.metadata, null, 2)}</pre></details>
    <button type="button" onClick=${moreLikeThis} disabled=${chunk.vector === undefined}
      aria-label=${`More like chunk ${chunk.chunk_index} of ${filename}`}>More like this</button>
  </article>`;
}

/** A modal dialog that deletes the document only once its name is typed exactly. */
function ConfirmDelete(props: {
  api: ApiClient;
  botId: string;
  filename: string;
  onCancel: () => void;
  onDeleted: (filename: string, chunks: number) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const remove = useAction(useCallback(() => props.api.deleteDocument(props.botId, props.filename), [props]));
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (typed !== props.filename) return;
    const result = await remove.start();
    if (result !== undefined) props.onDeleted(props.filename, result.chunks_deleted);
  };
  return html`<dialog ref=${dialog} aria-labelledby="delete-title" onCancel=${props.onCancel}>
    <form onSubmit=${submit}>
      <h3 id="delete-title">Delete ${props.filename}?</h3>
      <p>Every chunk of this document is deleted from the bot. Type its filename to confirm.</p>
      <label for="confirm-filename">Filename</label>
      <input id="confirm-filename" autocomplete="off" value=${typed}
        onInput=${(e: Event) => setTyped((e.target as HTMLInputElement).value)} />
      <${ErrorBox} error=${remove.error} />
      <div class="row gap-top">
        <button type="submit" class="danger" disabled=${typed !== props.filename || remove.loading}>Delete document</button>
        <button type="button" onClick=${props.onCancel}>Cancel</button>
      </div>
    </form>
  </dialog>`;
}
