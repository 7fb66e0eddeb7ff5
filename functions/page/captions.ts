// Live captions of both sides from `lk.transcription`: one list item per segment id, replaced in place while interim,
// kept once final; an empty final caption (the agent's correction after a barge-in) removes what was never said.
export interface CaptionUpdate {
  segmentId: string;
  speaker: 'user' | 'agent';
  text: string;
  final: boolean;
}

const MAX_CAPTIONS = 200;

export class CaptionList {
  readonly #list: HTMLOListElement;
  readonly #items = new Map<string, HTMLLIElement>();

  constructor(list: HTMLOListElement) {
    this.#list = list;
  }

  update(c: CaptionUpdate): void {
    let item = this.#items.get(c.segmentId);
    if (!c.text.trim()) {
      if (c.final && item) {
        item.remove();
        this.#items.delete(c.segmentId);
      }
      return;
    }
    if (!item) {
      item = document.createElement('li');
      item.dataset['segment'] = c.segmentId;
      item.dataset['speaker'] = c.speaker;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = c.speaker === 'user' ? 'You' : 'Agent';
      item.append(who, document.createElement('span'));
      this.#items.set(c.segmentId, item);
      this.#list.append(item);
      this.#trim();
    }
    item.dataset['final'] = String(c.final);
    item.lastElementChild!.textContent = c.text;
    this.#list.scrollTop = this.#list.scrollHeight;
  }

  clear(): void {
    this.#list.replaceChildren();
    this.#items.clear();
  }

  #trim(): void {
    while (this.#items.size > MAX_CAPTIONS) {
      const [oldest] = this.#items.keys();
      if (oldest === undefined) return;
      this.#items.get(oldest)?.remove();
      this.#items.delete(oldest);
    }
  }
}
