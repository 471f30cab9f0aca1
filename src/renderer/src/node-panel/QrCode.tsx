import { toString as qrSvg } from 'qrcode'
import { useEffect, useState } from 'react'

/**
 * A QR code of a text (a URL, an invite), drawn as an SVG image (a data: URL, which the page's
 * CSP allows for images; nothing is fetched). `label` is its text alternative; by default it
 * names the text.
 */
export function QrCode({ text, label }: { text: string; label?: string }) {
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    let live = true
    qrSvg(text, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then(
      (svg) => live && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`),
      () => live && setSrc(null),
    )
    return () => {
      live = false
    }
  }, [text])
  if (src === null) return null
  return (
    <img className="qr" src={src} alt={label ?? `QR code for ${text}`} width={132} height={132} />
  )
}
